package main

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

// The deployment the functions run against.
const (
	region       = "us-east-1"
	tableName    = "mrrt"
	signingAlias = "alias/mrrt-signing"
	issuer       = "https://auth.example.com"

	// The seed's bootstrap admin client (shared/runtime/seed/default.json).
	adminClientID     = "admin-cli"
	adminClientSecret = "admin-cli-secret-change-me"
)

// stack is the emulated AWS of one measurement: moto_server for DynamoDB
// and local-kms, on loopback (shared/testkit/awstest starts both), with the
// table, an RSA_2048 signing key behind an alias, an HMAC_256 key for
// refresh tokens, and the default seed written through the DynamoDB store.
type stack struct {
	dynamoURL, kmsURL string
	macKeyARN         string
	servers           []*awstest.Server
}

func startStack(ctx context.Context, dir string) (s *stack, err error) {
	s = &stack{}
	defer func() {
		if err != nil {
			s.stop()
		}
	}()
	moto, err := awstest.RunMoto(ctx)
	if err != nil {
		return nil, err
	}
	s.servers = append(s.servers, moto)
	kmsServer, err := awstest.RunKMS(ctx, filepath.Join(dir, "kms"))
	if err != nil {
		return nil, err
	}
	s.servers = append(s.servers, kmsServer)
	s.dynamoURL, s.kmsURL = moto.URL, kmsServer.URL
	return s, s.provision(ctx)
}

// provision creates the table, the keys and the seed data.
func (s *stack) provision(ctx context.Context) error {
	db := dynamodb.NewFromConfig(awsConfig(s.dynamoURL))
	kc := kms.NewFromConfig(awsConfig(s.kmsURL))
	if err := dynamostore.CreateTable(ctx, db, tableName); err != nil {
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
	s.macKeyARN = *mac.KeyMetadata.Arn

	doc, err := seed.Default(issuer)
	if err != nil {
		return err
	}
	return seed.Load(ctx, dynamostore.New(db, tableName), doc, rand.Reader, time.Now())
}

// functionEnv is the environment of a function under the emulator: the
// variables of the SAM template, pointed at the emulated services, and
// nothing of this machine's AWS configuration.
func (s *stack) functionEnv(dir, fn string) []string {
	return awstest.FunctionConfig{
		Name: fn, Table: tableName, KeyID: signingAlias, MACKeyID: s.macKeyARN, Issuer: issuer,
		Region: region, DynamoDB: s.dynamoURL, KMS: s.kmsURL, HomeDir: dir,
		TimeoutS: "10", // as template.yaml
	}.Env()
}

func (s *stack) stop() {
	for _, srv := range s.servers {
		srv.Stop()
	}
	awstest.RemoveBuilt()
}

func awsConfig(endpoint string) aws.Config {
	return aws.Config{
		Region:       region,
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint: aws.String(endpoint),
	}
}
