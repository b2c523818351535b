package dynamostore

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/google/go-cmp/cmp"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
)

var update = flag.Bool("update", false, "rewrite testdata/items.golden")

// Fully populated domain values: every field set, so a field the item
// mapping forgets shows in the round trip.
var (
	itemTime  = time.Date(2026, 4, 5, 6, 7, 8, 9_000_000, time.UTC)
	expiresAt = itemTime.Add(365 * 24 * time.Hour)

	fullClient = &oauth.Client{
		ClientID: "client-1", Name: "Client", AppType: oauth.AppTypeSPA, IsFirstParty: true,
		Callbacks: []string{"https://app.example.com/cb"}, GrantTypes: []string{oauth.GrantTypeAuthorizationCode, oauth.GrantTypeRefreshToken},
		TokenEndpointAuthMethod: oauth.AuthMethodNone,
		RefreshToken: oauth.RefreshTokenConfig{
			RotationType: oauth.RotationRotating, ExpirationType: oauth.ExpirationExpiring, Leeway: 5,
			TokenLifetime: 86400, IdleTokenLifetime: 3600, InfiniteTokenLifetime: true, InfiniteIdleTokenLifetime: true,
			Policies: []oauth.Policy{{Audience: "https://billing.example.com", Scope: []string{"read:billing"}}},
		},
		SecretHash:     "secret-hash",
		AllowedOrigins: []string{"https://app.example.com"}, WebOrigins: []string{"http://localhost:3000"},
		AllowedLogoutURLs: []string{"https://app.example.com/bye"}, Description: "An app", LogoURI: "https://app.example.com/logo.png",
		InitiateLoginURI: "https://app.example.com/login", CrossOriginAuthentication: true, OIDCConformant: true, SSODisabled: true,
		JWTConfiguration: &oauth.JWTConfiguration{Alg: oauth.AlgRS256}, RequireProofOfPossession: true,
		ClientAuthenticationMethods: &oauth.ClientAuthenticationMethods{PrivateKeyJWT: &oauth.PrivateKeyJWT{Credentials: []oauth.Credential{{ID: "cred_1"}}}},
		Credentials: []oauth.Credential{{
			ID: "cred_1", Name: "key 1", CredentialType: "public_key", PEM: "-----BEGIN PUBLIC KEY-----\nx\n-----END PUBLIC KEY-----\n", Alg: oauth.AlgRS256,
			CreatedAt: itemTime, UpdatedAt: itemTime.Add(time.Minute), ExpiresAt: &expiresAt,
		}},
	}
	fullAPI = &oauth.ResourceServer{
		ID: "api-1", Identifier: "https://api.example.com", Name: "API",
		Scopes:        []oauth.Scope{{Value: "read:data", Description: "Read data"}},
		TokenLifetime: 3600, SkipConsentForVerifiableFirstPartyClients: true, AllowOfflineAccess: true, SigningAlg: oauth.AlgES256,
		ProofOfPossession: &oauth.ProofOfPossession{Mechanism: "dpop", Required: true},
		EnforcePolicies:   true, TokenDialect: oauth.DialectRFC9068Authz,
	}
	fullGrant = &oauth.ClientGrant{ID: "cgr_1", ClientID: "client-1", Audience: "https://api.example.com", Scope: []string{"read:data"}}
	fullUser  = &oauth.User{
		UserID: "auth0|1", Email: "Demo@Example.com", Name: "Demo", Blocked: true,
		PasswordHash: "$argon2id$hash", CreatedAt: itemTime,
		EmailVerified: true, Nickname: "demo", GivenName: "De", FamilyName: "Mo", Picture: "https://example.com/p.png",
		UpdatedAt: itemTime.Add(time.Minute),
	}
	fullCode = &oauth.AuthCode{
		Hash: "code-hash", ClientID: "client-1", RedirectURI: "https://app.example.com/cb", CodeChallenge: "challenge",
		CodeChallengeMethod: oauth.CodeChallengeS256, Audience: "https://api.example.com", Scopes: []string{"openid", "read:data"},
		Nonce: "nonce", UserID: "auth0|1", AuthTime: itemTime, ExpiresAt: itemTime.Add(time.Minute), Used: true, FamilyID: "fam-1", InDoubt: true,
		DPoPJKT: "code-jkt",
	}
	fullFamily = &oauth.Family{
		ID: "fam-1", ClientID: "client-1", UserID: "auth0|1", Audience: "https://api.example.com", Scopes: []string{"openid", "read:data"},
		AuthTime: itemTime, CreatedAt: itemTime.Add(time.Second), ExpiresAt: itemTime.Add(30 * 24 * time.Hour),
		IdleExpiresAt: itemTime.Add(24 * time.Hour), Generation: 3, HeadHash: "head", PrevHash: "prev",
		RotatedAt: itemTime.Add(time.Hour), InDoubt: 3, LastUsedAt: itemTime.Add(time.Hour), Revoked: true,
		RevokedAt: itemTime.Add(2 * time.Hour), RevokeReason: "reason", DPoPJKT: "family-jkt",
	}
	fullSession = &oauth.Session{Hash: "session-hash", UserID: "auth0|1", AuthTime: itemTime, ExpiresAt: itemTime.Add(time.Hour)}
	fullConsent = &oauth.Consent{UserID: "auth0|1", ClientID: "client-1", Audience: "https://api.example.com",
		Scopes: []string{"read:data"}, GrantedAt: itemTime}
)

// millis drops what the items do not keep: times are stored in milliseconds.
func millis(t time.Time) time.Time { return t.Truncate(time.Millisecond) }

func TestFixturesSetEveryField(t *testing.T) {
	for _, v := range []any{fullClient, fullAPI, fullGrant, fullUser, fullCode, fullFamily, fullSession, fullConsent} {
		if zero := zeroFields(reflect.ValueOf(v).Elem(), ""); len(zero) > 0 {
			t.Errorf("%T: fields left zero in the fixture: %s", v, strings.Join(zero, ", "))
		}
	}
}

// zeroFields lists the zero-valued fields of struct v, recursively.
func zeroFields(v reflect.Value, prefix string) []string {
	var out []string
	for i := range v.NumField() {
		f, name := v.Field(i), prefix+v.Type().Field(i).Name
		switch {
		case f.IsZero():
			out = append(out, name)
		case f.Kind() == reflect.Struct && f.Type() != reflect.TypeFor[time.Time]():
			out = append(out, zeroFields(f, name+".")...)
		case f.Kind() == reflect.Slice && f.Type().Elem().Kind() == reflect.Struct:
			for j := range f.Len() {
				out = append(out, zeroFields(f.Index(j), fmt.Sprintf("%s[%d].", name, j))...)
			}
		}
	}
	return out
}

func TestItemsRoundTrip(t *testing.T) {
	must := func(it item, err error) item {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return it
	}
	check := func(name string, want, got any) {
		t.Helper()
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s round trip (-want +got):\n%s", name, diff)
		}
	}
	client, err := clientFrom(must(clientItem(fullClient)))
	if err != nil {
		t.Fatal(err)
	}
	check("client", fullClient, client)
	api, err := apiFrom(must(apiItem(fullAPI)))
	if err != nil {
		t.Fatal(err)
	}
	check("resource server", fullAPI, api)
	byID, byPair, err := grantItems(fullGrant)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range []item{byID, byPair} {
		g, err := grantFrom(it)
		if err != nil {
			t.Fatal(err)
		}
		check("client grant", fullGrant, g)
	}
	user, err := userFrom(must(userItem(fullUser)))
	if err != nil {
		t.Fatal(err)
	}
	check("user", fullUser, user)

	code := *fullCode
	code.AuthTime, code.ExpiresAt = millis(code.AuthTime), millis(code.ExpiresAt)
	check("code", &code, codeFrom(fullCode.Hash, codeItem(fullCode)))
	fam := *fullFamily
	for _, p := range []*time.Time{&fam.AuthTime, &fam.CreatedAt, &fam.ExpiresAt, &fam.IdleExpiresAt, &fam.RotatedAt, &fam.LastUsedAt, &fam.RevokedAt} {
		*p = millis(*p)
	}
	check("family", &fam, familyFrom(familyItem(fullFamily)))
	sess := *fullSession
	sess.AuthTime, sess.ExpiresAt = millis(sess.AuthTime), millis(sess.ExpiresAt)
	check("session", &sess, sessionFrom(fullSession.Hash, sessionItem(fullSession)))
	cons := *fullConsent
	cons.GrantedAt = millis(cons.GrantedAt)
	check("consent", &cons, consentFrom(consentItem(fullConsent)))
}

// TestItemShapes pins the attribute names and types of every item: the
// storage schema. A change here is a change of what is in DynamoDB, and
// needs a migration (see the package comment); run with -update only for
// a deliberate, additive change.
func TestItemShapes(t *testing.T) {
	must := func(it item, err error) item {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return it
	}
	byID, byPair, err := grantItems(fullGrant)
	if err != nil {
		t.Fatal(err)
	}
	items := []struct {
		name string
		it   item
	}{
		{"client", must(clientItem(fullClient))},
		{"resource server", must(apiItem(fullAPI))},
		{"client grant by id", byID},
		{"client grant by client and audience", byPair},
		{"user", must(userItem(fullUser))},
		{"email", emailItem(fullUser)},
		{"authorization code", codeItem(fullCode)},
		{"refresh-token family", familyItem(fullFamily)},
		{"session", sessionItem(fullSession)},
		{"consent", consentItem(fullConsent)},
	}
	var b strings.Builder
	for _, x := range items {
		fmt.Fprintf(&b, "# %s\n", x.name)
		keys := make([]string, 0, len(x.it))
		for k := range x.it {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			v, _ := json.Marshal(plain(x.it[k]))
			fmt.Fprintf(&b, "%s %s\n", k, v)
		}
		b.WriteString("\n")
	}
	path := filepath.Join("testdata", "items.golden")
	if *update {
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), b.String()); diff != "" {
		t.Errorf("item shapes changed (-golden +now):\n%s", diff)
	}
}

// plain renders an attribute value in DynamoDB's JSON form ({"S": ...}).
func plain(v types.AttributeValue) any {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return map[string]any{"S": v.Value}
	case *types.AttributeValueMemberN:
		return map[string]any{"N": v.Value}
	case *types.AttributeValueMemberBOOL:
		return map[string]any{"BOOL": v.Value}
	case *types.AttributeValueMemberNULL:
		return map[string]any{"NULL": v.Value}
	case *types.AttributeValueMemberL:
		l := make([]any, len(v.Value))
		for i, e := range v.Value {
			l[i] = plain(e)
		}
		return map[string]any{"L": l}
	case *types.AttributeValueMemberM:
		m := map[string]any{}
		for k, e := range v.Value {
			m[k] = plain(e)
		}
		return map[string]any{"M": m}
	case *types.AttributeValueMemberSS:
		return map[string]any{"SS": v.Value}
	}
	return fmt.Sprintf("%T", v)
}

// The first version of this store wrote configuration items as the domain
// types' JSON form (attributevalue with the json tag): such items, sparse
// ones included, read back unchanged.
func TestItemsOfTheFirstVersionReadBack(t *testing.T) {
	legacy := func(v any, pk, sk string) item {
		t.Helper()
		m, err := attributevalue.MarshalMapWithOptions(v, func(o *attributevalue.EncoderOptions) { o.TagKey = "json" })
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range keyOf(pk, sk) {
			m[k] = v
		}
		return m
	}
	sparseClient := &oauth.Client{ClientID: "c", TokenEndpointAuthMethod: oauth.AuthMethodNone}
	for _, c := range []*oauth.Client{fullClient, sparseClient} {
		it := legacy(c, pkClients, c.ClientID)
		it.setS("sh", c.SecretHash)
		got, _ := clientFrom(it)
		c := c.Clone()
		c.Credentials = nil // not in the first version (nor in the JSON form)
		if diff := cmp.Diff(c, got); diff != "" {
			t.Errorf("client %s (-want +got):\n%s", c.ClientID, diff)
		}
	}
	for _, rs := range []*oauth.ResourceServer{fullAPI, {Identifier: "https://sparse.example.com"}} {
		got, _ := apiFrom(legacy(rs, pkAPIs, rs.Identifier))
		if diff := cmp.Diff(rs, got); diff != "" {
			t.Errorf("resource server %s (-want +got):\n%s", rs.Identifier, diff)
		}
	}
	for _, g := range []*oauth.ClientGrant{fullGrant, {ID: "cgr_2", ClientID: "c", Audience: "a"}} {
		got, _ := grantFrom(legacy(g, pkGrants, g.ID))
		if diff := cmp.Diff(g, got); diff != "" {
			t.Errorf("grant %s (-want +got):\n%s", g.ID, diff)
		}
	}
	for _, u := range []*oauth.User{fullUser, {UserID: "auth0|2", Email: "a@example.com", CreatedAt: itemTime}} {
		it := legacy(u, pkUsers, u.UserID)
		it.setS("ph", u.PasswordHash)
		got, err := userFrom(it)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(u, got); diff != "" {
			t.Errorf("user %s (-want +got):\n%s", u.UserID, diff)
		}
	}
}
