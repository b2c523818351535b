// Package awsstack is the emulated AWS deployment of the measurement
// commands (infra/coldstart, infra/latency): moto_server and local-kms on
// loopback, provisioned as a stack would be, with the default seed.
package awsstack

import (
	"context"
	"crypto/rand"
	"fmt"
	"path/filepath"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/mrrt-auth/mrrt/shared/adapters/dynamostore"
	"github.com/mrrt-auth/mrrt/shared/runtime/seed"
	"github.com/mrrt-auth/mrrt/shared/testkit/awstest"
)

// The emulated deployment's names, as a stack would have them.
const (
	Region       = "us-east-1"
	Table        = "mrrt"
	Issuer       = "https://auth.example.com"
	signingAlias = "alias/mrrt-signing"
)

// Stack is the emulated AWS of one measurement: moto_server for DynamoDB and local-kms, on loopback,
// with the table, an RSA_2048 signing key behind an alias, an HMAC_256
// key for refresh tokens, and the default seed written through the
// DynamoDB store.
type Stack struct {
	DynamoURL, KMSURL string
	MACKeyARN         string
	servers           []*awstest.Server
}

// Start starts and provisions a Stack keeping its files under dir. Stop
// it with Stop.
func Start(ctx context.Context, dir string) (d *Stack, err error) {
	d = &Stack{}
	defer func() {
		if err != nil {
			d.Stop()
		}
	}()
	moto, err := awstest.RunMoto(ctx)
	if err != nil {
		return nil, err
	}
	d.servers = append(d.servers, moto)
	kmsServer, err := awstest.RunKMS(ctx, filepath.Join(dir, "kms"))
	if err != nil {
		return nil, err
	}
	d.servers = append(d.servers, kmsServer)
	d.DynamoURL, d.KMSURL = moto.URL, kmsServer.URL
	return d, d.provision(ctx)
}

// provision creates the table, the keys and the seed data.
func (d *Stack) provision(ctx context.Context) error {
	db := dynamodb.NewFromConfig(Config(d.DynamoURL))
	kc := kms.NewFromConfig(Config(d.KMSURL))
	if err := dynamostore.CreateTable(ctx, db, Table); err != nil {
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

	doc, err := seed.Default(Issuer)
	if err != nil {
		return err
	}
	return seed.Load(ctx, d.Store(), doc, rand.Reader, time.Now())
}

// Store is the stack's table through the DynamoDB store.
func (d *Stack) Store() *dynamostore.Store {
	return dynamostore.New(dynamodb.NewFromConfig(Config(d.DynamoURL)), Table)
}

// FunctionEnv is the environment of function fn under the emulator: the
// variables of the SAM template, pointed at the emulated services (or at
// dynamoURL and kmsURL when given, such as a delaying proxy in front of
// them), and nothing of this machine's AWS configuration.
func (d *Stack) FunctionEnv(home, fn string, extra ...string) []string {
	return d.FunctionEnvVia(home, fn, d.DynamoURL, d.KMSURL, extra...)
}

// FunctionEnvVia is FunctionEnv with other endpoints for the function's
// DynamoDB and KMS requests.
func (d *Stack) FunctionEnvVia(home, fn, dynamoURL, kmsURL string, extra ...string) []string {
	return awstest.FunctionConfig{
		Name: fn, Table: Table, KeyID: signingAlias, MACKeyID: d.MACKeyARN, Issuer: Issuer,
		Region: Region, DynamoDB: dynamoURL, KMS: kmsURL, HomeDir: home,
		TimeoutS: "10", // as template.yaml
		Extra:    extra,
	}.Env()
}

// Stop stops the emulators. (The command calls awstest.RemoveBuilt before
// it exits, once, since another Stack may reuse the built local-kms.)
func (d *Stack) Stop() {
	for _, srv := range d.servers {
		srv.Stop()
	}
}

// Config is an SDK configuration for an emulated service at
// endpoint, with dummy credentials.
func Config(endpoint string) aws.Config {
	return aws.Config{
		Region:       Region,
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint: aws.String(endpoint),
	}
}
