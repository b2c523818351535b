// Package awsdeps reads the configuration of the Lambdas (and of the dev
// server's AWS mode) from the environment and builds the DynamoDB store
// behind a configuration cache. It is the one place that reads this
// configuration. The KMS-held keys are built from Deps.KMS by
// kmssigner.FromConfig in the functions that sign: this package does not
// import the KMS client, so the authorize function's binary does not
// contain it.
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
//	KMS_PREVIOUS_MAC_KEY_IDS comma-separated HMAC_256 keys of earlier refresh-token
//	                      secrets, whose families keep working (optional)
//	ISSUER                e.g. https://auth.example.com/ (required; used byte for byte as iss)
//	ADMIN_AUDIENCE        audience of the admin API (default ISSUER + "/api/v2/")
//	SIGNING_MODE          kms (default: KMS signs every token) or envelope (the
//	                      key pairs in the table, unwrapped once per cold start)
//	EVENT_LOG_GROUPS      comma-separated log groups /api/v2/logs reads events
//	                      from (policy-admin; optional: empty, no events)
//	CONFIG_CACHE_TTL      staleness bound of cached clients, APIs and client
//	                      grants: a Go duration ("30s") or seconds ("30");
//	                      0 turns the cache off (default 30s)
//
// The AWS SDK reads its own variables (AWS_REGION, credentials,
// AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_DYNAMODB, AWS_ENDPOINT_URL_KMS, ...)
// through config.LoadDefaultConfig, so the same binaries run against AWS,
// LocalStack or the test servers. Load makes no network call.
package awsdeps

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/mrrt-auth/mrrt/shared/adapters/cachestore"
	"github.com/mrrt-auth/mrrt/shared/adapters/dynamostore"
	"github.com/mrrt-auth/mrrt/shared/core/oauth"
)

// maxDynamoBackoff caps the pause between the DynamoDB client's attempts
// (4 by default): throttling would otherwise back off for seconds, and a
// 503 the client can retry beats a request that hangs.
const maxDynamoBackoff = 500 * time.Millisecond

// dynamoAttemptTimeout bounds one DynamoDB request (its normal latency is a
// few milliseconds): with the client's 3 attempts and their backoff, a
// DynamoDB that does not answer costs at most about 7 s, inside the
// function's 10 s timeout less lambdahttp.Reserve, whose deadline ends the
// request earlier still.
const dynamoAttemptTimeout = 2 * time.Second

// Deps are the AWS-backed dependencies of the handlers but the keys.
type Deps struct {
	Store         oauth.Store // DynamoDB, with configuration cached per instance
	Issuer        string
	AdminAudience string
	// Config is the SDK configuration the store was built with; the
	// signing functions build their KMS client from it.
	Config aws.Config
	// KMS names the keys (kmssigner.Settings has the same fields: convert
	// with kmssigner.Settings(d.KMS)).
	KMS KMSSettings
	// EventLogGroups are the log groups the functions write their events
	// to (EVENT_LOG_GROUPS), for the admin API's log reader.
	EventLogGroups []string
	// Roles holds roles and permissions on the table, not cached: a
	// changed permission counts from the next exchange.
	Roles oauth.RoleStore
	// SigningMode is SIGNING_MODE: SigningKMS or SigningEnvelope.
	SigningMode string
	// WrappedKeys holds the envelope mode's key pairs (the table).
	WrappedKeys oauth.WrappedKeyStore
}

// The signing modes.
const (
	SigningKMS      = "kms"
	SigningEnvelope = "envelope"
)

// KMSSettings are the KMS keys of the environment.
type KMSSettings struct {
	Alg      string   // KMS_KEY_ALG: RS256 or ES256
	Current  []string // KMS_KEY_ID, then KMS_ES256_KEY_ID if set
	Previous []string // KMS_PREVIOUS_KEY_IDS
	MACKeyID string   // KMS_MAC_KEY_ID
	// PreviousMACKeyIDs is KMS_PREVIOUS_MAC_KEY_IDS.
	PreviousMACKeyIDs []string
}

// Load reads the SDK configuration and the environment through getenv
// (os.Getenv in production) and builds Deps, without any network call.
func Load(ctx context.Context, getenv func(string) string) (*Deps, error) {
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("awsdeps: AWS config: %w", err)
	}
	return FromConfig(cfg, getenv)
}

// FromConfig is Load with an SDK configuration the caller built (tests add
// middleware to it).
func FromConfig(cfg aws.Config, getenv func(string) string) (*Deps, error) {
	env, err := readEnv(getenv)
	if err != nil {
		return nil, err
	}
	if cfg.Region == "" {
		return nil, errors.New("awsdeps: no AWS region: set AWS_REGION")
	}
	// Every client built from cfg (the KMS ones too) counts its throttles
	// and faults.
	cfg.APIOptions = append(cfg.APIOptions[:len(cfg.APIOptions):len(cfg.APIOptions)], countFaults)
	db := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		o.Retryer = retry.AddWithMaxBackoffDelay(o.Retryer, maxDynamoBackoff)
		o.HTTPClient = awshttp.NewBuildableClient().WithTimeout(dynamoAttemptTimeout)
	})
	current := []string{env.keyID}
	if env.es256KeyID != "" {
		current = append(current, env.es256KeyID)
	}
	store := dynamostore.New(db, env.table)
	return &Deps{
		Store:         cachestore.New(store, env.cacheTTL, time.Now),
		Roles:         store,
		SigningMode:   env.signingMode,
		WrappedKeys:   store,
		Issuer:        env.issuer,
		AdminAudience: env.adminAudience,
		Config:        cfg,
		KMS: KMSSettings{Alg: env.keyAlg, Current: current, Previous: env.previousKeyIDs, MACKeyID: env.macKeyID,
			PreviousMACKeyIDs: env.previousMACKeyIDs},
		EventLogGroups: env.eventLogGroups,
	}, nil
}

type env struct {
	table, keyID, keyAlg, es256KeyID, macKeyID string
	previousKeyIDs, eventLogGroups             []string
	previousMACKeyIDs                          []string
	issuer, adminAudience, signingMode         string
	cacheTTL                                   time.Duration
}

// readEnv parses the variables of the package comment. All missing
// required variables are named in one error.
func readEnv(getenv func(string) string) (*env, error) {
	get := func(name string) string { return strings.TrimSpace(getenv(name)) }
	e := &env{
		table:             get("TABLE_NAME"),
		keyID:             get("KMS_KEY_ID"),
		keyAlg:            get("KMS_KEY_ALG"),
		es256KeyID:        get("KMS_ES256_KEY_ID"),
		macKeyID:          get("KMS_MAC_KEY_ID"),
		previousKeyIDs:    splitList(get("KMS_PREVIOUS_KEY_IDS")),
		previousMACKeyIDs: splitList(get("KMS_PREVIOUS_MAC_KEY_IDS")),
		eventLogGroups:    splitList(get("EVENT_LOG_GROUPS")),
		issuer:            get("ISSUER"),
		adminAudience:     get("ADMIN_AUDIENCE"),
		cacheTTL:          cachestore.DefaultTTL,
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
	switch e.signingMode = get("SIGNING_MODE"); e.signingMode {
	case "":
		e.signingMode = SigningKMS
	case SigningKMS, SigningEnvelope:
	default:
		return nil, fmt.Errorf("awsdeps: SIGNING_MODE is %q, want kms or envelope", e.signingMode)
	}
	if e.adminAudience == "" {
		e.adminAudience = oauth.DefaultAdminAudience(e.issuer)
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
