package awsdeps

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func getenv(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func required() map[string]string {
	return map[string]string{
		"TABLE_NAME":     "mrrt",
		"KMS_KEY_ID":     "alias/mrrt-signing",
		"KMS_MAC_KEY_ID": "alias/mrrt-refresh-token-mac",
		"ISSUER":         "https://auth.example.com",
	}
}

func TestReadEnv(t *testing.T) {
	tests := []struct {
		name string
		set  map[string]string
		want env
	}{
		{"defaults fill the optional variables", nil, env{
			signingMode: "kms", table: "mrrt", keyID: "alias/mrrt-signing", keyAlg: "RS256", macKeyID: "alias/mrrt-refresh-token-mac",
			issuer: "https://auth.example.com", adminAudience: "https://auth.example.com/api/v2/", cacheTTL: 30 * time.Second,
		}},
		{"every variable is read", map[string]string{
			"KMS_KEY_ALG":              "RS256",
			"KMS_ES256_KEY_ID":         "alias/mrrt-signing-es256",
			"KMS_PREVIOUS_KEY_IDS":     " alias/old-1 ,, arn:aws:kms:eu-west-1:1:key/2 ",
			"KMS_PREVIOUS_MAC_KEY_IDS": "arn:aws:kms:eu-west-1:1:key/mac-1, alias/mac-0",
			"ADMIN_AUDIENCE":           "https://admin.example.com/",
			"CONFIG_CACHE_TTL":         "1m",
			"SIGNING_MODE":             "envelope",
			"EVENT_LOG_GROUPS":         "/aws/lambda/a,/aws/lambda/b",
		}, env{
			signingMode: "envelope", eventLogGroups: []string{"/aws/lambda/a", "/aws/lambda/b"}, table: "mrrt", keyID: "alias/mrrt-signing", keyAlg: "RS256", es256KeyID: "alias/mrrt-signing-es256", macKeyID: "alias/mrrt-refresh-token-mac",
			previousKeyIDs:    []string{"alias/old-1", "arn:aws:kms:eu-west-1:1:key/2"},
			previousMACKeyIDs: []string{"arn:aws:kms:eu-west-1:1:key/mac-1", "alias/mac-0"},
			issuer:            "https://auth.example.com", adminAudience: "https://admin.example.com/", cacheTTL: time.Minute,
		}},
		{"an ES256 signing key is declared", map[string]string{"KMS_KEY_ALG": "ES256"}, env{
			signingMode: "kms", table: "mrrt", keyID: "alias/mrrt-signing", keyAlg: "ES256", macKeyID: "alias/mrrt-refresh-token-mac",
			issuer: "https://auth.example.com", adminAudience: "https://auth.example.com/api/v2/", cacheTTL: 30 * time.Second,
		}},
		{"a trailing slash of the issuer is kept (iss is byte for byte); audiences do not double it", map[string]string{"ISSUER": "https://auth.example.com/"}, env{
			signingMode: "kms", table: "mrrt", keyID: "alias/mrrt-signing", keyAlg: "RS256", macKeyID: "alias/mrrt-refresh-token-mac",
			issuer: "https://auth.example.com/", adminAudience: "https://auth.example.com/api/v2/", cacheTTL: 30 * time.Second,
		}},
		{"a cache TTL in plain seconds", map[string]string{"CONFIG_CACHE_TTL": "45"}, env{
			signingMode: "kms", table: "mrrt", keyID: "alias/mrrt-signing", keyAlg: "RS256", macKeyID: "alias/mrrt-refresh-token-mac",
			issuer: "https://auth.example.com", adminAudience: "https://auth.example.com/api/v2/", cacheTTL: 45 * time.Second,
		}},
		{"a cache TTL of 0 turns the cache off", map[string]string{"CONFIG_CACHE_TTL": "0"}, env{
			signingMode: "kms", table: "mrrt", keyID: "alias/mrrt-signing", keyAlg: "RS256", macKeyID: "alias/mrrt-refresh-token-mac",
			issuer: "https://auth.example.com", adminAudience: "https://auth.example.com/api/v2/", cacheTTL: 0,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := required()
			for k, v := range tt.set {
				m[k] = v
			}
			got, err := readEnv(getenv(m))
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.want, *got, cmp.AllowUnexported(env{})); d != "" {
				t.Errorf("env (-want +got):\n%s", d)
			}
		})
	}
}

func TestReadEnvErrors(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"every missing required variable is named in one error", map[string]string{},
			"missing environment variables: TABLE_NAME, KMS_KEY_ID, KMS_MAC_KEY_ID, ISSUER"},
		{"a blank variable counts as missing", map[string]string{"TABLE_NAME": " ", "KMS_KEY_ID": "k", "KMS_MAC_KEY_ID": "m", "ISSUER": "i"},
			"missing environment variables: TABLE_NAME"},
		{"a cache TTL that is no duration is refused", merge(required(), "CONFIG_CACHE_TTL", "soon"), "CONFIG_CACHE_TTL"},
		{"a negative cache TTL is refused", merge(required(), "CONFIG_CACHE_TTL", "-5s"), "negative"},
		{"a key algorithm other than RS256 and ES256 is refused", merge(required(), "KMS_KEY_ALG", "HS256"), "KMS_KEY_ALG"},
		{"a signing mode other than kms and envelope is refused", merge(required(), "SIGNING_MODE", "local"), "SIGNING_MODE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := readEnv(getenv(tt.env))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func merge(m map[string]string, k, v string) map[string]string {
	m[k] = v
	return m
}
