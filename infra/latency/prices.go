package main

// listPrices are AWS's public list prices and default quotas for
// us-east-1, as read on the date below from the pages in Sources. They
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
	LambdaPerRequest:       0.20 / 1e6,
	LambdaPerGBs:           0.0000133334,
	APIPerRequest:          1.00 / 1e6,
	PerWRU:                 0.625 / 1e6,
	PerRRU:                 0.125 / 1e6,
	KMSPerRSARequest:       0.03 / 1e4,
	KMSPerSymmetricRequest: 0.03 / 1e4,
	KMSRSAQuota:            500,
	KMSSymmetricQuota:      100000,
	LambdaConcurrency:      1000,
}
