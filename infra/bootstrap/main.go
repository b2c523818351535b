// Command bootstrap creates the first administrator of a deployment: a
// confidential machine-to-machine client with a client grant for every scope
// of the admin API (whose resource server it also creates when missing). The
// client secret is printed once; the store keeps only its hash.
//
// With the memory store (the dev server) it writes a seed-file fragment
// with the admin API, the client (with its secret) and the grant, to merge
// into a seed file:
//
//	go run ./infra/bootstrap -store memory [-out admin-seed.json]
//
// Its audience defaults to "{{issuer}}/api/v2/", which the seed loader
// replaces with the server's issuer; -with-api=false leaves out the admin
// API for a seed that already defines it.
//
// With -store aws it writes through the DynamoDB store, configured by the
// same environment as the Lambda functions (TABLE_NAME, KMS_KEY_ID,
// KMS_MAC_KEY_ID, ISSUER, ADMIN_AUDIENCE, AWS_REGION, ...), and prints the
// client id and secret as JSON:
//
//	go run ./infra/bootstrap -store aws -name "Ops admin"
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/mrrt-auth/mrrt/shared/adapters/memstore"
	"github.com/mrrt-auth/mrrt/shared/core/oauth"
	"github.com/mrrt-auth/mrrt/shared/protocol/policyadmin"
	"github.com/mrrt-auth/mrrt/shared/runtime/awsdeps"
	"github.com/mrrt-auth/mrrt/shared/runtime/seed"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr, loadAWS); err != nil {
		fmt.Fprintln(os.Stderr, "bootstrap:", err)
		os.Exit(1)
	}
}

// deployment is the AWS store and where its admin API lives.
type deployment struct {
	Store    policyadmin.BootstrapStore
	Issuer   string
	Audience string
}

func loadAWS(ctx context.Context) (*deployment, error) {
	d, err := awsdeps.Load(ctx, os.Getenv)
	if err != nil {
		return nil, err
	}
	return &deployment{Store: d.Store, Issuer: d.Issuer, Audience: d.AdminAudience}, nil
}

// credentials is what the AWS mode prints.
type credentials struct {
	ClientID      string `json:"client_id"`
	ClientSecret  string `json:"client_secret"`
	Audience      string `json:"audience"`
	TokenEndpoint string `json:"token_endpoint"`
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer, load func(context.Context) (*deployment, error)) error {
	fs := flag.NewFlagSet("bootstrap", flag.ContinueOnError)
	fs.SetOutput(stderr)
	store := fs.String("store", "memory", "memory (print a seed-file fragment) or aws (write to DynamoDB)")
	name := fs.String("name", "Policy admin (bootstrap)", "name of the admin client")
	audience := fs.String("audience", seed.IssuerPlaceholder+"/api/v2/", "memory: audience of the admin API")
	withAPI := fs.Bool("with-api", true, "memory: include the admin API's resource server in the fragment")
	out := fs.String("out", "", "memory: write the fragment to this new file (mode 0600) instead of standard output")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if *name == "" {
		return errors.New("-name must not be empty")
	}
	switch *store {
	case "memory":
		return memory(ctx, *name, *audience, *withAPI, *out, stdout, stderr)
	case "aws":
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		for _, f := range []string{"audience", "with-api", "out"} {
			if set[f] {
				return fmt.Errorf("-%s applies to -store memory only (set ADMIN_AUDIENCE for AWS)", f)
			}
		}
		d, err := load(ctx)
		if err != nil {
			return err
		}
		admin, err := policyadmin.Bootstrap(ctx, d.Store, d.Audience, *name, rand.Reader)
		if err != nil {
			return err
		}
		fmt.Fprintf(stderr, "created client %s with a grant for %s; its secret is shown only this once\n", admin.Client.ClientID, d.Audience)
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(credentials{
			ClientID: admin.Client.ClientID, ClientSecret: admin.Secret,
			Audience: d.Audience, TokenEndpoint: oauth.IssuerBase(d.Issuer) + "/oauth/token",
		})
	}
	return fmt.Errorf("-store must be memory or aws, not %q", *store)
}

// memory bootstraps into an empty memory store and renders what was created
// as a seed-file fragment.
func memory(ctx context.Context, name, audience string, withAPI bool, out string, stdout, stderr io.Writer) error {
	admin, err := policyadmin.Bootstrap(ctx, memstore.New(), audience, name, rand.Reader)
	if err != nil {
		return err
	}
	f := seed.File{
		ResourceServers: []oauth.ResourceServer{*admin.API},
		Clients:         []seed.Client{{Client: *admin.Client, ClientSecret: admin.Secret}},
		ClientGrants:    []oauth.ClientGrant{*admin.Grant},
		Users:           []seed.User{},
	}
	// Checked as the server will read it, with an issuer in place of
	// the placeholder.
	full, err := json.Marshal(f)
	if err != nil {
		return err
	}
	if _, err := seed.Parse(bytes.NewReader(full), "https://issuer.example"); err != nil {
		return err
	}
	if !withAPI {
		f.ResourceServers = []oauth.ResourceServer{}
	}
	data, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return err
	}
	data = append(data, '\n')
	if out == "" {
		_, err = stdout.Write(data)
		return err
	}
	file, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := file.Write(data); err != nil {
		file.Close()
		return err
	}
	if err := file.Close(); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "wrote %s: client %s with a grant for %s; the file holds its only copy of the secret\n", out, admin.Client.ClientID, audience)
	return nil
}
