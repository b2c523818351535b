package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/mrrt-auth/mrrt/shared/adapters/dynamostore"
	"github.com/mrrt-auth/mrrt/shared/runtime/seed"
	"github.com/mrrt-auth/mrrt/shared/testkit/childproc"
)

// The deployment the functions run against.
const (
	region       = "us-east-1"
	tableName    = "mrrt"
	signingAlias = "alias/mrrt-signing"
	issuer       = "https://auth.example.com"
	startTimeout = 30 * time.Second

	// The seed's bootstrap admin client (shared/runtime/seed/default.json).
	adminClientID     = "admin-cli"
	adminClientSecret = "admin-cli-secret-change-me"
)

// stack is the emulated AWS of one measurement: moto_server for DynamoDB
// and infra/localkms for KMS, on loopback, with the table, an RSA_2048
// signing key behind an alias, an HMAC_256 key for refresh tokens, and the
// default seed written through the DynamoDB store.
type stack struct {
	dynamoURL, kmsURL string
	macKeyARN         string
	procs             []*process
}

// The shared/awstest helpers start the same servers but are for tests
// (they take a testing.TB), so this command starts them itself.
func startStack(ctx context.Context, root, dir string) (s *stack, err error) {
	s = &stack{}
	defer func() {
		if err != nil {
			s.stop()
		}
	}()
	moto, err := exec.LookPath("moto_server")
	if err != nil {
		return nil, errors.New("moto_server is not on PATH; install it with: pip install 'moto[server]==5.2.1'")
	}
	// -p 0: moto picks a free port and announces it (no port race with
	// other servers started at the same time).
	p, err := startProcess("moto_server", moto, "-H", "127.0.0.1", "-p", "0")
	if err != nil {
		return nil, err
	}
	s.procs = append(s.procs, p)
	if s.dynamoURL, err = p.waitAnnounced(ctx); err != nil {
		return nil, err
	}
	if err := p.waitHTTP(ctx, s.dynamoURL+"/moto-api/"); err != nil {
		return nil, err
	}

	kmsBin, err := buildTool(ctx, root, dir, "./infra/localkms")
	if err != nil {
		return nil, err
	}
	p, err = startProcess("localkms", kmsBin, "-addr", "127.0.0.1:0", "-data", filepath.Join(dir, "kms"))
	if err != nil {
		return nil, err
	}
	s.procs = append(s.procs, p)
	if s.kmsURL, err = p.waitAnnounced(ctx); err != nil {
		return nil, err
	}
	return s, s.provision(ctx, root)
}

// provision creates the table, the keys and the seed data.
func (s *stack) provision(ctx context.Context, root string) error {
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
	none := filepath.Join(dir, "no-aws-config")
	return []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + dir,
		"AWS_LAMBDA_FUNCTION_NAME=" + fn,
		"AWS_LAMBDA_FUNCTION_TIMEOUT=10", // as template.yaml
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_REGION=" + region,
		"AWS_ACCESS_KEY_ID=test",
		"AWS_SECRET_ACCESS_KEY=test",
		"AWS_CONFIG_FILE=" + none,
		"AWS_SHARED_CREDENTIALS_FILE=" + none,
		"AWS_ENDPOINT_URL_DYNAMODB=" + s.dynamoURL,
		"AWS_ENDPOINT_URL_KMS=" + s.kmsURL,
		"TABLE_NAME=" + tableName,
		"KMS_KEY_ID=" + signingAlias,
		"KMS_MAC_KEY_ID=" + s.macKeyARN,
		"ISSUER=" + issuer,
	}
}

func (s *stack) stop() {
	for _, p := range s.procs {
		p.stop()
	}
}

func awsConfig(endpoint string) aws.Config {
	return aws.Config{
		Region:       region,
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint: aws.String(endpoint),
	}
}

// process is a server this command started, in a process group of its own
// so that stopping it also ends its children (the emulator's runtime).
type process struct {
	name      string
	proc      *childproc.Process
	log       *childproc.Tail
	lines     chan string // every output line, for watchers; dropped when full
	announced chan string
}

func startProcess(name, bin string, args ...string) (*process, error) {
	return startProcessEnv(name, nil, bin, args...)
}

// startProcessEnv starts bin with env (nil: this process's environment).
func startProcessEnv(name string, env []string, bin string, args ...string) (*process, error) {
	p := &process{
		name:      name,
		log:       childproc.NewTail(32 << 10),
		lines:     make(chan string, 1024),
		announced: make(chan string, 1),
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	var err error
	if p.proc, err = childproc.StartGroup(cmd); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(p.log, line)
			// "listening on URL" (infra/localkms), "* Running on URL" (moto_server -p 0)
			for _, prefix := range []string{"listening on ", "* Running on "} {
				if url, ok := strings.CutPrefix(strings.TrimSpace(line), prefix); ok {
					select {
					case p.announced <- url:
					default:
					}
				}
			}
			select {
			case p.lines <- line:
			default:
			}
		}
		io.Copy(io.Discard, pr)
	}()
	go func() {
		<-p.proc.Exited()
		pw.Close()
	}()
	return p, nil
}

// waitHTTP polls url until it answers.
func (p *process) waitHTTP(ctx context.Context, url string) error {
	client := &http.Client{Timeout: time.Second}
	err := p.proc.Poll(ctx, startTimeout, 25*time.Millisecond, childproc.Answers(client, url, 0))
	switch {
	case errors.Is(err, childproc.ErrExited):
		return fmt.Errorf("%s exited at start:\n%s", p.name, p.log)
	case errors.Is(err, childproc.ErrTimeout):
		return fmt.Errorf("%s did not answer within %v:\n%s", p.name, startTimeout, p.log)
	}
	return err
}

// waitAnnounced waits for the "listening on URL" line.
func (p *process) waitAnnounced(ctx context.Context) (string, error) {
	select {
	case url := <-p.announced:
		return url, nil
	case <-p.proc.Exited():
		return "", fmt.Errorf("%s exited at start:\n%s", p.name, p.log)
	case <-ctx.Done():
		return "", ctx.Err()
	case <-time.After(startTimeout):
		return "", fmt.Errorf("%s did not start within %v:\n%s", p.name, startTimeout, p.log)
	}
}

// stop sends SIGTERM to the process group, then SIGKILL if it lingers; the
// emulator kills its runtime itself, and a last SIGKILL to the group makes
// sure nothing of it outlives the emulator.
func (p *process) stop() { p.proc.Stop(syscall.SIGTERM, 5*time.Second) }
