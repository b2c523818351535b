package awsdeps_test

import (
	"errors"
	"net"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
	"github.com/mrrt-auth/mrrt/shared/crypto/jws"
	"github.com/mrrt-auth/mrrt/shared/protocol/token"
	"github.com/mrrt-auth/mrrt/shared/runtime/awsdeps"
)

// sink is an endpoint that counts connections and answers none.
type sink struct {
	url   string
	conns atomic.Int64
}

func newSink(t *testing.T) *sink {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	s := &sink{url: "http://" + ln.Addr().String()}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.conns.Add(1)
			c.Close()
		}
	}()
	return s
}

// use exercises every dependency once and returns the first error.
func use(t *testing.T, d *fullDeps) error {
	t.Helper()
	ctx := t.Context()
	if err := d.Store.CreateClient(ctx, &oauth.Client{ClientID: "probe-" + t.Name()}); err != nil {
		return err
	}
	if _, err := d.Store.Client(ctx, "probe-"+t.Name()); err != nil {
		return err
	}
	tok, err := d.Signer.Sign(ctx, "", oauth.TypAccessToken, map[string]string{"sub": "probe"})
	if err != nil {
		return err
	}
	keys, err := d.Signer.PublicKeys(ctx)
	if err != nil {
		return err
	}
	if _, _, err := jws.Verify(tok, keys); err != nil {
		return err
	}
	key, err := d.RefreshKey(ctx)
	if err != nil {
		return err
	}
	if len(key) != 32 {
		t.Errorf("refresh key of %d bytes, want 32", len(key))
	}
	return nil
}

func TestLoad(t *testing.T) {
	s := startStack(t)

	t.Run("the per-service endpoint variables route each client and win over AWS_ENDPOINT_URL", func(t *testing.T) {
		global := newSink(t)
		s.setAWSEnv(t)
		t.Setenv("AWS_ENDPOINT_URL", global.url)
		d, err := awsdeps.Load(t.Context(), s.env())
		if err != nil {
			t.Fatal(err)
		}
		if err := use(t, withKeys(t, d)); err != nil {
			t.Fatal(err)
		}
		if n := global.conns.Load(); n != 0 {
			t.Errorf("%d connections to AWS_ENDPOINT_URL", n)
		}
		if d.Issuer != "https://auth.example.com" || d.AdminAudience != "https://auth.example.com/api/v2/" {
			t.Errorf("Issuer %q, AdminAudience %q", d.Issuer, d.AdminAudience)
		}
	})

	t.Run("AWS_ENDPOINT_URL alone routes the DynamoDB client", func(t *testing.T) {
		isolateAWSEnv(t)
		t.Setenv("AWS_ENDPOINT_URL", s.dynamoURL)
		d, err := awsdeps.Load(t.Context(), s.env())
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Store.CreateResourceServer(t.Context(), &oauth.ResourceServer{Identifier: "https://probe"}); err != nil {
			t.Fatal(err)
		}
		if _, err := d.Store.ResourceServer(t.Context(), "https://probe"); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("Load and building the token handler make no network call; unreachable services are unavailable, not invalid", func(t *testing.T) {
		unreachable := newSink(t)
		isolateAWSEnv(t)
		t.Setenv("AWS_ENDPOINT_URL", unreachable.url)
		loaded, err := awsdeps.Load(t.Context(), s.env())
		if err != nil {
			t.Fatal(err)
		}
		d := withKeys(t, loaded)
		token.NewHandler(token.Deps{
			Clients: d.Store, APIs: d.Store, ClientGrants: d.Store, Codes: d.Store, Families: d.Store,
			Signer: d.Signer, Issuer: d.Issuer, RefreshKey: d.RefreshKey,
		})
		if n := unreachable.conns.Load(); n != 0 {
			t.Fatalf("init opened %d connections", n)
		}
		if _, err := d.Store.Family(t.Context(), "fam"); !errors.Is(err, oauth.ErrUnavailable) {
			t.Errorf("Family: %v, want ErrUnavailable", err)
		}
		if _, err := d.Signer.PublicKeys(t.Context()); !errors.Is(err, oauth.ErrUnavailable) {
			t.Errorf("PublicKeys: %v, want ErrUnavailable", err)
		}
		if _, err := d.RefreshKey(t.Context()); !errors.Is(err, oauth.ErrUnavailable) {
			t.Errorf("RefreshKey: %v, want ErrUnavailable", err)
		}
		if unreachable.conns.Load() == 0 {
			t.Error("the calls never reached the endpoint")
		}
	})

	t.Run("missing variables are one error naming them all", func(t *testing.T) {
		isolateAWSEnv(t)
		_, err := awsdeps.Load(t.Context(), func(string) string { return "" })
		if err == nil || !strings.Contains(err.Error(), "TABLE_NAME, KMS_KEY_ID, KMS_MAC_KEY_ID, ISSUER") {
			t.Errorf("Load: %v", err)
		}
	})

	t.Run("a missing region is an error", func(t *testing.T) {
		isolateAWSEnv(t)
		t.Setenv("AWS_REGION", "")
		t.Setenv("AWS_DEFAULT_REGION", "")
		if _, err := awsdeps.Load(t.Context(), s.env()); err == nil || !strings.Contains(err.Error(), "AWS_REGION") {
			t.Errorf("Load: %v", err)
		}
	})
}
