// Command localkms serves github.com/nsmithuk/local-kms, an AWS KMS
// emulator, on a loopback address only. Upstream's own main listens on all
// interfaces and has no host option; this wrapper serves its exported
// handler instead. It is for tests and local development, never production.
//
// On start it prints one line, "listening on http://HOST:PORT", to stdout,
// so a caller may pass -addr 127.0.0.1:0 and read the port it got.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	localkms "github.com/nsmithuk/local-kms/src"
	"github.com/nsmithuk/local-kms/src/config"
	"github.com/nsmithuk/local-kms/src/data"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:4599", "loopback `host:port` to listen on (port 0 picks a free one)")
	dataDir := flag.String("data", "", "`directory` for the key database (default: a temporary directory removed on exit)")
	region := flag.String("region", "us-east-1", "region written into key ARNs")
	account := flag.String("account", "111122223333", "account id written into key ARNs")
	flag.Parse()
	if err := run(*addr, *dataDir, *region, *account); err != nil {
		log.Fatalf("localkms: %v", err)
	}
}

func run(addr, dataDir, region, account string) error {
	if err := checkLoopback(addr); err != nil {
		return err
	}
	if dataDir == "" {
		dir, err := os.MkdirTemp("", "localkms-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		dataDir = dir
	}
	// local-kms keeps its settings in package variables.
	config.AWSRegion = region
	config.AWSAccountId = account
	config.DatabasePath = dataDir

	db := data.NewDatabase(dataDir)
	defer db.Close()

	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			localkms.HandleRequest(w, r, db)
		}),
		ReadHeaderTimeout: 10 * time.Second,
	}
	fmt.Printf("listening on http://%s\n", ln.Addr())

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// checkLoopback refuses any address a machine outside this one could reach.
func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("-addr %q: %w", addr, err)
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("-addr %q: host must be a loopback address (127.0.0.1, ::1 or localhost)", addr)
}
