package awstest

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/url"
	"path/filepath"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/mrrt-auth/mrrt/shared/adapters/dynamostore"
	"github.com/mrrt-auth/mrrt/shared/runtime/seed"
)

// The emulated deployment's names, as a stack would have them.
const (
	DeploymentRegion = "us-east-1"
	DeploymentTable  = "mrrt"
	DeploymentIssuer = "https://auth.example.com"
	signingAlias     = "alias/mrrt-signing"
)

// Deployment is the emulated AWS of one measurement (infra/coldstart,
// infra/latency): moto_server for DynamoDB and local-kms, on loopback,
// with the table, an RSA_2048 signing key behind an alias, an HMAC_256
// key for refresh tokens, and the default seed written through the
// DynamoDB store.
type Deployment struct {
	DynamoURL, KMSURL string
	MACKeyARN         string
	servers           []*Server
}

// StartDeployment starts and provisions a Deployment keeping its files
// under dir. Stop it with Stop.
func StartDeployment(ctx context.Context, dir string) (d *Deployment, err error) {
	d = &Deployment{}
	defer func() {
		if err != nil {
			d.Stop()
		}
	}()
	moto, err := RunMoto(ctx)
	if err != nil {
		return nil, err
	}
	d.servers = append(d.servers, moto)
	kmsServer, err := RunKMS(ctx, filepath.Join(dir, "kms"))
	if err != nil {
		return nil, err
	}
	d.servers = append(d.servers, kmsServer)
	d.DynamoURL, d.KMSURL = moto.URL, kmsServer.URL
	return d, d.provision(ctx)
}

// provision creates the table, the keys and the seed data.
func (d *Deployment) provision(ctx context.Context) error {
	db := dynamodb.NewFromConfig(DeploymentConfig(d.DynamoURL))
	kc := kms.NewFromConfig(DeploymentConfig(d.KMSURL))
	if err := dynamostore.CreateTable(ctx, db, DeploymentTable); err != nil {
		return err
	}
	key, err := kc.CreateKey(ctx, &kms.CreateKeyInput{KeySpec: types.KeySpecRsa2048, KeyUsage: types.KeyUsageTypeSignVerify})
	if err != nil {
		return fmt.Errorf("create signing key: %w", err)
	}
	if _, err := kc.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String(signingAlias), TargetKeyId: key.KeyMetadata.KeyId}); err != nil {
		return fmt.Errorf("create alias: %w", err)
	}
	mac, err := kc.CreateKey(ctx, &kms.CreateKeyInput{KeySpec: types.KeySpecHmac256, KeyUsage: types.KeyUsageTypeGenerateVerifyMac})
	if err != nil {
		return fmt.Errorf("create MAC key: %w", err)
	}
	d.MACKeyARN = *mac.KeyMetadata.Arn

	doc, err := seed.Default(DeploymentIssuer)
	if err != nil {
		return err
	}
	return seed.Load(ctx, d.Store(), doc, rand.Reader, time.Now())
}

// Store is the deployment's table through the DynamoDB store.
func (d *Deployment) Store() *dynamostore.Store {
	return dynamostore.New(dynamodb.NewFromConfig(DeploymentConfig(d.DynamoURL)), DeploymentTable)
}

// FunctionEnv is the environment of function fn under the emulator: the
// variables of the SAM template, pointed at the emulated services (or at
// dynamoURL and kmsURL when given, such as a delaying proxy in front of
// them), and nothing of this machine's AWS configuration.
func (d *Deployment) FunctionEnv(home, fn string, extra ...string) []string {
	return d.FunctionEnvVia(home, fn, d.DynamoURL, d.KMSURL, extra...)
}

// FunctionEnvVia is FunctionEnv with other endpoints for the function's
// DynamoDB and KMS requests.
func (d *Deployment) FunctionEnvVia(home, fn, dynamoURL, kmsURL string, extra ...string) []string {
	return FunctionConfig{
		Name: fn, Table: DeploymentTable, KeyID: signingAlias, MACKeyID: d.MACKeyARN, Issuer: DeploymentIssuer,
		Region: DeploymentRegion, DynamoDB: dynamoURL, KMS: kmsURL, HomeDir: home,
		TimeoutS: "10", // as template.yaml
		Extra:    extra,
	}.Env()
}

// Stop stops the emulators and removes what they built.
func (d *Deployment) Stop() {
	for _, srv := range d.servers {
		srv.Stop()
	}
	RemoveBuilt()
}

// DeploymentConfig is an SDK configuration for an emulated service at
// endpoint, with dummy credentials.
func DeploymentConfig(endpoint string) aws.Config {
	return aws.Config{
		Region:       DeploymentRegion,
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint: aws.String(endpoint),
	}
}

// TokenEvent is the API Gateway v2 event of POST /oauth/token with form
// as its body, from 127.0.0.1 to the deployment's host.
func TokenEvent(form url.Values, requestID string) ([]byte, error) {
	return json.Marshal(map[string]any{
		"version": "2.0", "routeKey": "POST /oauth/token", "rawPath": "/oauth/token", "rawQueryString": "",
		"headers": map[string]string{"content-type": "application/x-www-form-urlencoded", "host": "auth.example.com"},
		"requestContext": map[string]any{
			"http":      map[string]string{"method": "POST", "path": "/oauth/token", "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "awstest"},
			"requestId": requestID, "routeKey": "POST /oauth/token", "stage": "$default", "domainName": "auth.example.com",
		},
		"body": form.Encode(), "isBase64Encoded": false,
	})
}
