// Command awssetup creates what the AWS adapters need, against whatever
// endpoints the environment names (AWS_ENDPOINT_URL,
// AWS_ENDPOINT_URL_DYNAMODB, AWS_ENDPOINT_URL_KMS, AWS_REGION, credentials):
// the DynamoDB table with its index and TTL, an RSA_2048 signing key, an
// optional ECC_NIST_P256 signing key and the HMAC_256 key of the
// refresh-token secret, each behind an alias. It is idempotent: what
// exists is reused. It first waits (bounded by -wait) until both endpoints
// answer, so it can run right after starting emulators. It prints the
// environment for awsdeps as shell assignments:
//
//	eval "$(go run ./infra/awssetup)"
//
// Deployments declare the same resources in the SAM template instead.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/smithy-go"

	"github.com/mrrt-auth/mrrt/shared/adapters/dynamostore"
	"github.com/mrrt-auth/mrrt/shared/adapters/kmssigner"
	"github.com/mrrt-auth/mrrt/shared/core/oauth"
)

type options struct {
	table   string
	signing string        // alias of the RS256 key
	es256   string        // alias of the ES256 key; "" for none
	mac     string        // alias of the HMAC key
	wait    time.Duration // how long to wait for the endpoints to answer
	// envelope is the alias of the symmetric key wrapping the envelope
	// mode's key pairs; "" keeps KMS Sign.
	envelope string
	// rotate takes the envelope key pairs one rotation step further.
	rotate bool
}

// The aliases template.yaml gives a stack's keys: alias/<stack>-signing,
// alias/<stack>-signing-es256 and alias/<stack>-refresh-token-mac.
const (
	signingSuffix = "-signing"
	es256Suffix   = "-signing-es256"
	macSuffix     = "-refresh-token-mac"
	envSuffix     = "-envelope"
)

func main() {
	var o options
	stack := flag.String("stack", "mrrt", "`name` the aliases are derived from, as template.yaml derives them from the stack name")
	es256 := flag.Bool("es256", false, "also create an ECC_NIST_P256 signing key (ES256) as a second current key")
	flag.StringVar(&o.table, "table", envOr("TABLE_NAME", "mrrt"), "DynamoDB table `name`")
	flag.DurationVar(&o.wait, "wait", 30*time.Second, "how long to wait for the DynamoDB and KMS endpoints to answer")
	envelope := flag.Bool("envelope", false, "envelope signing mode: a symmetric key and, in the table, a key pair per algorithm wrapped under it")
	flag.BoolVar(&o.rotate, "rotate", false, "with -envelope, one rotation step: add a next key pair (published, not signing), or, when there is one, make it current and publish the old one only")
	flag.Parse()
	if *envelope {
		o.envelope = "alias/" + *stack + envSuffix
	}
	o.signing, o.mac = "alias/"+*stack+signingSuffix, "alias/"+*stack+macSuffix
	if *es256 {
		o.es256 = "alias/" + *stack + es256Suffix
	}

	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		log.Fatalf("awssetup: AWS config: %v", err)
	}
	if err := run(ctx, cfg, o, os.Stdout, os.Stderr); err != nil {
		log.Fatalf("awssetup: %v", err)
	}
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// run creates the resources and writes the environment to out and
// progress to logw.
func run(ctx context.Context, cfg aws.Config, o options, out, logw io.Writer) error {
	if cfg.Region == "" {
		return errors.New("no AWS region: set AWS_REGION")
	}
	db, api := dynamodb.NewFromConfig(cfg), kms.NewFromConfig(cfg)
	if err := waitForEndpoints(ctx, db, api, o.wait, logw); err != nil {
		return err
	}
	if err := dynamostore.CreateTable(ctx, db, o.table); err != nil {
		return err
	}
	fmt.Fprintf(logw, "table %s ready\n", o.table)

	keys := []struct {
		env, alias string
		spec       types.KeySpec
		usage      types.KeyUsageType
	}{
		{"KMS_KEY_ID", o.signing, types.KeySpecRsa2048, types.KeyUsageTypeSignVerify},
		{"KMS_ES256_KEY_ID", o.es256, types.KeySpecEccNistP256, types.KeyUsageTypeSignVerify},
		{"KMS_MAC_KEY_ID", o.mac, types.KeySpecHmac256, types.KeyUsageTypeGenerateVerifyMac},
	}
	fmt.Fprintf(out, "export TABLE_NAME=%s\n", shellQuote(o.table))
	for _, k := range keys {
		if k.alias == "" {
			continue
		}
		arn, created, err := ensureKey(ctx, api, k.alias, k.spec, k.usage)
		if err != nil {
			return err
		}
		verb := "exists"
		if created {
			verb = "created"
		}
		fmt.Fprintf(logw, "%s (%s, %s) %s: %s\n", k.alias, k.spec, k.usage, verb, arn)
		fmt.Fprintf(out, "export %s=%s\n", k.env, shellQuote(k.alias))
	}
	if o.envelope != "" {
		algs := []string{oauth.AlgRS256}
		if o.es256 != "" {
			algs = append(algs, oauth.AlgES256)
		}
		store := dynamostore.New(db, o.table)
		if err := ensureWrappedKeys(ctx, api, store, o.envelope, algs, logw); err != nil {
			return err
		}
		if o.rotate {
			if err := rotateWrappedKeys(ctx, api, store, o.envelope, algs, logw); err != nil {
				return err
			}
		}
		fmt.Fprintf(out, "export SIGNING_MODE=envelope\n")
	}
	return nil
}

// rotateWrappedKeys takes one step per algorithm: with a next pair (newer
// than the current one, not current) it becomes current and the old one is
// only published; else a next pair is made, published but not signing.
// Functions load the pairs at their cold start: wait until every instance
// has restarted (and, after the second step, until the old key's tokens
// have expired) before the next step; then delete the old pair.
func rotateWrappedKeys(ctx context.Context, api *kms.Client, store oauth.WrappedKeyStore, alias string, algs []string, logw io.Writer) error {
	arn, _, err := ensureKey(ctx, api, alias, types.KeySpecSymmetricDefault, types.KeyUsageTypeEncryptDecrypt)
	if err != nil {
		return err
	}
	have, err := store.WrappedKeys(ctx) // newest first
	if err != nil {
		return err
	}
	for _, alg := range algs {
		cur := slices.IndexFunc(have, func(k oauth.WrappedKey) bool { return k.Current && k.Alg == alg })
		next := slices.IndexFunc(have, func(k oauth.WrappedKey) bool {
			return !k.Current && k.Alg == alg && cur >= 0 && k.CreatedAt.After(have[cur].CreatedAt)
		})
		if next >= 0 {
			have[next].Current, have[cur].Current = true, false
			for _, k := range []*oauth.WrappedKey{&have[next], &have[cur]} {
				if err := store.PutWrappedKey(ctx, k); err != nil {
					return err
				}
			}
			fmt.Fprintf(logw, "envelope key pair %s %s now signs; %s is only published\n", alg, have[next].KeyID, have[cur].KeyID)
			continue
		}
		k, err := kmssigner.NewWrappedKey(ctx, api, arn, alg, time.Now())
		if err != nil {
			return err
		}
		if err := store.PutWrappedKey(ctx, k); err != nil {
			return err
		}
		fmt.Fprintf(logw, "envelope key pair %s %s added: published, not signing yet\n", alg, k.KeyID)
	}
	return nil
}

// ensureWrappedKeys creates the envelope mode's wrapping key and, for each
// algorithm without a current key pair in the table, one.
func ensureWrappedKeys(ctx context.Context, api *kms.Client, store oauth.WrappedKeyStore, alias string, algs []string, logw io.Writer) error {
	arn, _, err := ensureKey(ctx, api, alias, types.KeySpecSymmetricDefault, types.KeyUsageTypeEncryptDecrypt)
	if err != nil {
		return err
	}
	have, err := store.WrappedKeys(ctx)
	if err != nil {
		return err
	}
	for _, alg := range algs {
		if slices.ContainsFunc(have, func(k oauth.WrappedKey) bool { return k.Current && k.Alg == alg }) {
			fmt.Fprintf(logw, "envelope key pair %s exists\n", alg)
			continue
		}
		k, err := kmssigner.NewWrappedKey(ctx, api, arn, alg, time.Now())
		if err != nil {
			return err
		}
		k.Current = true
		if err := store.PutWrappedKey(ctx, k); err != nil {
			return err
		}
		fmt.Fprintf(logw, "envelope key pair %s created: %s, wrapped under %s\n", alg, k.KeyID, alias)
	}
	return nil
}

// waitForEndpoints polls DynamoDB and KMS with one cheap read each until
// both answer or wait has passed. An answer that is an error of the
// service (say, bad credentials) counts: the endpoint is up, and the real
// call will report that error.
func waitForEndpoints(ctx context.Context, db *dynamodb.Client, api *kms.Client, wait time.Duration, logw io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	probes := []struct {
		name  string
		probe func(context.Context) error
	}{
		{"DynamoDB", func(ctx context.Context) error {
			_, err := db.ListTables(ctx, &dynamodb.ListTablesInput{Limit: aws.Int32(1)}, noRetries)
			return err
		}},
		{"KMS", func(ctx context.Context) error {
			_, err := api.ListKeys(ctx, &kms.ListKeysInput{Limit: aws.Int32(1)}, noKMSRetries)
			return err
		}},
	}
	for _, p := range probes {
		waited := false
		for {
			err := p.probe(ctx)
			var apiErr smithy.APIError
			if err == nil || errors.As(err, &apiErr) {
				break
			}
			if ctx.Err() != nil {
				return fmt.Errorf("%s did not answer within %v (is the emulator running, and the endpoint right?): %w", p.name, wait, err)
			}
			if !waited {
				fmt.Fprintf(logw, "waiting for %s...\n", p.name)
				waited = true
			}
			select {
			case <-ctx.Done():
			case <-time.After(200 * time.Millisecond):
			}
		}
	}
	return nil
}

func noRetries(o *dynamodb.Options) { o.RetryMaxAttempts = 1 }
func noKMSRetries(o *kms.Options)   { o.RetryMaxAttempts = 1 }

// ensureKey returns the key behind alias, creating key and alias if the
// alias does not exist yet. An existing alias must name a key of the
// wanted spec and usage.
func ensureKey(ctx context.Context, api *kms.Client, alias string, spec types.KeySpec, usage types.KeyUsageType) (string, bool, error) {
	desc, err := api.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: &alias})
	var notFound *types.NotFoundException
	switch {
	case err == nil:
		m := desc.KeyMetadata
		if m.KeySpec != spec || m.KeyUsage != usage {
			return "", false, fmt.Errorf("%s names a %s %s key, want %s %s", alias, m.KeySpec, m.KeyUsage, spec, usage)
		}
		return aws.ToString(m.Arn), false, nil
	case !errors.As(err, &notFound):
		return "", false, fmt.Errorf("describe %s: %w", alias, err)
	}
	key, err := api.CreateKey(ctx, &kms.CreateKeyInput{
		KeySpec:     spec,
		KeyUsage:    usage,
		Description: aws.String("mrrt: " + alias),
	})
	if err != nil {
		return "", false, fmt.Errorf("create key for %s: %w", alias, err)
	}
	if _, err := api.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: &alias, TargetKeyId: key.KeyMetadata.KeyId}); err != nil {
		return "", false, fmt.Errorf("create alias %s: %w", alias, err)
	}
	return aws.ToString(key.KeyMetadata.Arn), true, nil
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	out := "'"
	for _, r := range s {
		if r == '\'' {
			out += `'\''`
		} else {
			out += string(r)
		}
	}
	return out + "'"
}
