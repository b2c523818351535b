package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/mrrt-auth/mrrt/shared/adapters/dynamostore"
	"github.com/mrrt-auth/mrrt/shared/adapters/localsigner"
	"github.com/mrrt-auth/mrrt/shared/core/oauth"
	"github.com/mrrt-auth/mrrt/shared/protocol/policyadmin"
	"github.com/mrrt-auth/mrrt/shared/runtime/awsdeps"
	"github.com/mrrt-auth/mrrt/shared/runtime/seed"
	"github.com/mrrt-auth/mrrt/shared/testkit/awstest"
	"github.com/mrrt-auth/mrrt/shared/testkit/localserver"
)

func noAWS(context.Context) (*deployment, error) {
	panic("the memory mode must not load AWS")
}

func bootstrap(t *testing.T, args ...string) (stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	if err := run(context.Background(), args, &out, &errb, noAWS); err != nil {
		t.Fatalf("run %q: %v (stderr %s)", args, err, errb.String())
	}
	return out.String(), errb.String()
}

// The memory fragment, loaded as a seed file by a server, gives an admin
// that gets a token with client credentials (golang.org/x/oauth2) and uses
// the admin API.
func TestMemoryFragmentSeedsAWorkingAdmin(t *testing.T) {
	fragment, _ := bootstrap(t, "-store", "memory", "-name", "Ops")
	var raw struct {
		Clients []struct {
			ClientID     string `json:"client_id"`
			ClientSecret string `json:"client_secret"`
		} `json:"clients"`
	}
	if err := json.Unmarshal([]byte(fragment), &raw); err != nil || len(raw.Clients) != 1 || len(raw.Clients[0].ClientSecret) < 32 {
		t.Fatalf("fragment %s: %v", fragment, err)
	}
	if n := strings.Count(fragment, raw.Clients[0].ClientSecret); n != 1 {
		t.Errorf("the secret appears %d times", n)
	}

	signer, err := localsigner.Generate(oauth.AlgRS256)
	if err != nil {
		t.Fatal(err)
	}
	srv := localserver.Start(t, localserver.Options{SeedJSON: fragment, Signer: signer})
	issuer := srv.URL

	cc := clientcredentials.Config{
		ClientID:       raw.Clients[0].ClientID,
		ClientSecret:   raw.Clients[0].ClientSecret,
		TokenURL:       issuer + "/oauth/token",
		EndpointParams: map[string][]string{"audience": {issuer + "/api/v2/"}},
	}
	tok, err := cc.Token(context.Background())
	if err != nil {
		t.Fatalf("client credentials: %v", err)
	}
	if got := strings.Fields(tok.Extra("scope").(string)); !slices.Equal(got, policyadmin.Scopes) {
		t.Errorf("scopes %v", got)
	}
	resp, err := cc.Client(context.Background()).Get(issuer + "/api/v2/clients")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var clients []map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&clients); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /api/v2/clients: %d %v", resp.StatusCode, err)
	}
	if len(clients) != 1 || clients[0]["client_id"] != raw.Clients[0].ClientID || clients[0]["client_secret"] != nil {
		t.Errorf("clients %v", clients)
	}
}

func TestMemoryFragmentOptions(t *testing.T) {
	t.Run("without the admin API and with a fixed audience", func(t *testing.T) {
		out, _ := bootstrap(t, "-with-api=false", "-audience", "https://auth.example.com/api/v2/")
		var f seed.File
		if err := json.Unmarshal([]byte(out), &f); err != nil {
			t.Fatal(err)
		}
		if len(f.ResourceServers) != 0 || len(f.ClientGrants) != 1 || f.ClientGrants[0].Audience != "https://auth.example.com/api/v2/" {
			t.Errorf("fragment %s", out)
		}
	})
	t.Run("-out writes a new private file and prints no secret", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "admin.json")
		out, errOut := bootstrap(t, "-out", path)
		if out != "" {
			t.Errorf("stdout %q", out)
		}
		st, err := os.Stat(path)
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Fatalf("stat: %v %v", st, err)
		}
		data, _ := os.ReadFile(path)
		var f seed.File
		if err := json.Unmarshal(data, &f); err != nil || len(f.Clients) != 1 {
			t.Fatalf("file %s: %v", data, err)
		}
		if strings.Contains(errOut, f.Clients[0].ClientSecret) {
			t.Error("the secret is printed too")
		}
		// An existing file is never overwritten.
		var o, e bytes.Buffer
		if err := run(context.Background(), []string{"-out", path}, &o, &e, noAWS); err == nil {
			t.Error("overwrote an existing file")
		}
	})
	for _, c := range []struct {
		name string
		args []string
	}{
		{"an unknown store is refused", []string{"-store", "sql"}},
		{"an empty name is refused", []string{"-name", ""}},
		{"memory flags are refused with aws", []string{"-store", "aws", "-out", "x.json"}},
		{"extra arguments are refused", []string{"extra"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var o, e bytes.Buffer
			if err := run(context.Background(), c.args, &o, &e, noAWS); err == nil {
				t.Error("accepted")
			}
		})
	}
}

// The AWS mode writes through the DynamoDB store (moto) configured by the
// Lambda environment.
func TestAWSModeWritesToDynamoDB(t *testing.T) {
	endpoint := awstest.StartMoto(t)
	cfg := awstest.Config(endpoint)
	const table = "bootstrap"
	api := dynamodb.NewFromConfig(cfg)
	if err := dynamostore.CreateTable(t.Context(), api, table); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"TABLE_NAME": table, "KMS_KEY_ID": "alias/unused", "KMS_MAC_KEY_ID": "alias/unused",
		"ISSUER": "https://auth.example.com", "CONFIG_CACHE_TTL": "0"}
	load := func(context.Context) (*deployment, error) {
		d, err := awsdeps.FromConfig(cfg, func(k string) string { return env[k] })
		if err != nil {
			return nil, err
		}
		return &deployment{Store: d.Store, Issuer: d.Issuer, Audience: d.AdminAudience}, nil
	}
	var creds []credentials
	for range 2 { // the second run reuses the admin API
		var out, errb bytes.Buffer
		if err := run(t.Context(), []string{"-store", "aws", "-name", "Ops"}, &out, &errb, load); err != nil {
			t.Fatalf("run: %v (%s)", err, errb.String())
		}
		var c credentials
		if err := json.Unmarshal(out.Bytes(), &c); err != nil {
			t.Fatal(err)
		}
		creds = append(creds, c)
	}
	s := dynamostore.New(api, table)
	ctx := t.Context()
	rs, err := s.ResourceServer(ctx, "https://auth.example.com/api/v2/")
	if err != nil || len(rs.Scopes) != len(policyadmin.Scopes) {
		t.Fatalf("admin API %+v: %v", rs, err)
	}
	for _, c := range creds {
		if c.Audience != "https://auth.example.com/api/v2/" || c.TokenEndpoint != "https://auth.example.com/oauth/token" {
			t.Errorf("credentials %+v", c)
		}
		cl, err := s.Client(ctx, c.ClientID)
		if err != nil {
			t.Fatal(err)
		}
		if !oauth.VerifySecret(cl.SecretHash, c.ClientSecret) || cl.SecretHash == c.ClientSecret {
			t.Error("the stored hash does not verify the printed secret")
		}
		g, err := s.ClientGrantFor(ctx, c.ClientID, c.Audience)
		if err != nil || !slices.Equal(g.Scope, policyadmin.Scopes) {
			t.Errorf("grant %+v: %v", g, err)
		}
	}
	if creds[0].ClientID == creds[1].ClientID || creds[0].ClientSecret == creds[1].ClientSecret {
		t.Error("two runs made the same client")
	}
}
