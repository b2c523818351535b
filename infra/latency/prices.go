package main

// listPrices are AWS's public list prices and default quotas for
// us-east-1, as read on 2026-12-04 from the pages in Sources. AWS draws
// its price tables in the browser, so the KMS request prices, the API
// Gateway HTTP API price and DynamoDB's per-unit prices were read from
// third-party transcriptions of those pages; the Lambda prices, the unit
// rules and the KMS quotas from AWS's own text. They
// change: read them again before relying on the figures.
var listPrices = prices{
	Date: "2026-12-04",
	Sources: []string{
		"https://aws.amazon.com/lambda/pricing/",
		"https://aws.amazon.com/api-gateway/pricing/",
		"https://aws.amazon.com/dynamodb/pricing/on-demand/",
		"https://aws.amazon.com/kms/pricing/",
		"https://docs.aws.amazon.com/kms/latest/developerguide/requests-per-second.html",
		"https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html",
	},
	LambdaPerRequest:       0.20 / 1e6,   // x86 and arm64
	LambdaPerGBs:           0.0000133334, // arm64, first 7.5 billion GB-s a month
	APIPerRequest:          1.00 / 1e6,   // first 300 million a month
	PerWRU:                 0.625 / 1e6,  // since 2024-11-01
	PerRRU:                 0.125 / 1e6,
	KMSPerRSARequest:       0.03 / 1e4, // asymmetric requests with RSA 2048 keys
	KMSPerECCRequest:       0.15 / 1e4, // asymmetric requests other than RSA 2048
	KMSPerSymmetricRequest: 0.03 / 1e4, // symmetric and HMAC
	KMSRSAQuota:            1000,       // "Cryptographic operations (RSA) request rate", shared
	KMSECCQuota:            1000,       // "Cryptographic operations (ECC and SM2) request rate", shared
	KMSSymmetricQuota:      100000,     // us-east-1, us-west-2, eu-west-1; shared
	LambdaConcurrency:      1000,
}
