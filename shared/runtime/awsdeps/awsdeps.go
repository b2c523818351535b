// Package awsdeps builds the AWS-backed dependencies of the Lambdas (and of
// the dev server's AWS mode) from the environment: the DynamoDB store
// behind a configuration cache, the KMS signer and the KMS-derived
// refresh-token key. It is the one place that reads this configuration.
//
// Environment:
//
//	TABLE_NAME            DynamoDB table (required)
//	KMS_KEY_ID            current signing key: key id, ARN or alias; its key spec
//	                      decides RS256 (RSA_*) or ES256 (ECC_NIST_P256) (required)
//	KMS_KEY_ALG           the algorithm of KMS_KEY_ID, RS256 (default) or ES256: the
//	                      default signing algorithm, declared so that building the
//	                      handlers needs no KMS call; checked against the key on first use
//	KMS_ES256_KEY_ID      a second current key, of the other algorithm (optional)
//	KMS_PREVIOUS_KEY_IDS  comma-separated keys still published in the JWKS (optional)
//	KMS_MAC_KEY_ID        HMAC_256 key deriving the refresh-token secret (required)
//	ISSUER                e.g. https://auth.example.com, no trailing slash (required)
//	ADMIN_AUDIENCE        audience of the admin API (default ISSUER + "/api/v2/")
//	CONFIG_CACHE_TTL      staleness bound of cached clients, APIs and client
//	                      grants: a Go duration ("30s") or seconds ("30");
//	                      0 turns the cache off (default 30s)
//
// The AWS SDK reads its own variables (AWS_REGION, credentials,
// AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_DYNAMODB, AWS_ENDPOINT_URL_KMS, ...)
// through config.LoadDefaultConfig, so the same binaries run against AWS,
// LocalStack or the test servers. Load (and LoadStore, its KMS-free
// variant for the authorize function) makes no network call: keys are
// fetched on first use.
package awsdeps

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/mrrt-auth/mrrt/shared/adapters/cachestore"
	"github.com/mrrt-auth/mrrt/shared/adapters/dynamostore"
	"github.com/mrrt-auth/mrrt/shared/adapters/kmssigner"
	"github.com/mrrt-auth/mrrt/shared/core/oauth"
)

// RefreshKeyLabel is the message whose HMAC under KMS_MAC_KEY_ID is the
// refresh-token secret. Changing it invalidates every refresh token.
const RefreshKeyLabel = "mrrt refresh-token key v1"

// maxDynamoBackoff caps the pause between the DynamoDB client's attempts
// (4 by default): throttling would otherwise back off for seconds, and a
// 503 the client can retry beats a request that hangs.
const maxDynamoBackoff = 500 * time.Millisecond

// Deps are the AWS-backed dependencies of the handlers.
type Deps struct {
	Store         oauth.Store                               // DynamoDB, with configuration cached per instance
	Signer        oauth.Signer                              // KMS; keys fetched on first use; nil from LoadStore
	RefreshKey    func(ctx context.Context) ([]byte, error) // nil from LoadStore
	Issuer        string
	AdminAudience string
}

// Load reads the SDK configuration and the environment through getenv
// (os.Getenv in production) and builds Deps, without any network call.
func Load(ctx context.Context, getenv func(string) string) (*Deps, error) {
	cfg, err := defaultConfig(ctx)
	if err != nil {
		return nil, err
	}
	return FromConfig(cfg, getenv)
}

// LoadStore is Load for a function that uses the store only (authorize):
// it checks the same environment, so that every function fails alike on a
// bad configuration, but builds no KMS client and leaves Signer and
// RefreshKey nil, which keeps the KMS SDK out of that function's binary.
func LoadStore(ctx context.Context, getenv func(string) string) (*Deps, error) {
	cfg, err := defaultConfig(ctx)
	if err != nil {
		return nil, err
	}
	d, _, err := storeFromConfig(cfg, getenv)
	return d, err
}

func defaultConfig(ctx context.Context) (aws.Config, error) {
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return aws.Config{}, fmt.Errorf("awsdeps: AWS config: %w", err)
	}
	return cfg, nil
}

// FromConfig is Load with an SDK configuration the caller built (tests add
// middleware to it).
func FromConfig(cfg aws.Config, getenv func(string) string) (*Deps, error) {
	d, env, err := storeFromConfig(cfg, getenv)
	if err != nil {
		return nil, err
	}
	kc := kms.NewFromConfig(cfg)
	current := []string{env.keyID}
	if env.es256KeyID != "" {
		current = append(current, env.es256KeyID)
	}
	if d.Signer, err = kmssigner.NewLazySigner(kc, env.keyAlg, current, env.previousKeyIDs); err != nil {
		return nil, fmt.Errorf("awsdeps: %w", err)
	}
	d.RefreshKey = kmssigner.MACKey(kc, env.macKeyID, RefreshKeyLabel)
	return d, nil
}

// storeFromConfig reads the environment and builds Deps without the KMS
// members.
func storeFromConfig(cfg aws.Config, getenv func(string) string) (*Deps, *env, error) {
	env, err := readEnv(getenv)
	if err != nil {
		return nil, nil, err
	}
	if cfg.Region == "" {
		return nil, nil, errors.New("awsdeps: no AWS region: set AWS_REGION")
	}
	db := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		o.Retryer = retry.AddWithMaxBackoffDelay(o.Retryer, maxDynamoBackoff)
	})
	return &Deps{
		Store:         cachestore.New(dynamostore.New(db, env.table), env.cacheTTL, time.Now),
		Issuer:        env.issuer,
		AdminAudience: env.adminAudience,
	}, env, nil
}

type env struct {
	table, keyID, keyAlg, es256KeyID, macKeyID string
	previousKeyIDs                             []string
	issuer, adminAudience                      string
	cacheTTL                                   time.Duration
}

// readEnv parses the variables of the package comment. All missing
// required variables are named in one error.
func readEnv(getenv func(string) string) (*env, error) {
	get := func(name string) string { return strings.TrimSpace(getenv(name)) }
	e := &env{
		table:          get("TABLE_NAME"),
		keyID:          get("KMS_KEY_ID"),
		keyAlg:         get("KMS_KEY_ALG"),
		es256KeyID:     get("KMS_ES256_KEY_ID"),
		macKeyID:       get("KMS_MAC_KEY_ID"),
		previousKeyIDs: splitList(get("KMS_PREVIOUS_KEY_IDS")),
		issuer:         strings.TrimSuffix(get("ISSUER"), "/"),
		adminAudience:  get("ADMIN_AUDIENCE"),
		cacheTTL:       cachestore.DefaultTTL,
	}
	var missing []string
	for _, r := range []struct{ name, value string }{
		{"TABLE_NAME", e.table}, {"KMS_KEY_ID", e.keyID}, {"KMS_MAC_KEY_ID", e.macKeyID}, {"ISSUER", e.issuer},
	} {
		if r.value == "" {
			missing = append(missing, r.name)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("awsdeps: missing environment variables: %s", strings.Join(missing, ", "))
	}
	switch e.keyAlg {
	case "":
		e.keyAlg = oauth.AlgRS256
	case oauth.AlgRS256, oauth.AlgES256:
	default:
		return nil, fmt.Errorf("awsdeps: KMS_KEY_ALG is %q, want RS256 or ES256", e.keyAlg)
	}
	if e.adminAudience == "" {
		e.adminAudience = e.issuer + "/api/v2/"
	}
	if v := get("CONFIG_CACHE_TTL"); v != "" {
		ttl, err := parseTTL(v)
		if err != nil {
			return nil, fmt.Errorf("awsdeps: CONFIG_CACHE_TTL: %w", err)
		}
		e.cacheTTL = ttl
	}
	return e, nil
}

// parseTTL accepts a Go duration or a number of seconds.
func parseTTL(v string) (time.Duration, error) {
	d, err := time.ParseDuration(v)
	if err != nil {
		n, nerr := strconv.Atoi(v)
		if nerr != nil {
			return 0, fmt.Errorf("%q is neither a duration (30s) nor seconds (30)", v)
		}
		d = time.Duration(n) * time.Second
	}
	if d < 0 {
		return 0, fmt.Errorf("%q is negative", v)
	}
	return d, nil
}

func splitList(v string) []string {
	var out []string
	for p := range strings.SplitSeq(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
