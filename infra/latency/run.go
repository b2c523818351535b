package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/mrrt-auth/mrrt/shared/adapters/kmssigner"
	"github.com/mrrt-auth/mrrt/shared/core/oauth"
	"github.com/mrrt-auth/mrrt/shared/runtime/local"
	"github.com/mrrt-auth/mrrt/shared/testkit/awsstack"
	"github.com/mrrt-auth/mrrt/shared/testkit/awstest"
)

// The seed's machine client and second API (shared/runtime/seed/default.json).
const (
	m2mID      = "demo-m2m"
	m2mSecret  = "demo-m2m-secret-change-me"
	apiData    = awsstack.DemoAPI
	apiBilling = "https://billing.example.com"
)

// Signing modes (SIGNING_MODE).
const (
	modeKMS      = "kms"
	modeEnvelope = "envelope"
)

// The measured grants.
const (
	grantRefresh      = "refresh_token"
	grantRefreshOther = "refresh_token, other audience"
	grantRefreshOIDC  = "refresh_token, openid (ID token too)"
	grantCode         = "authorization_code"
	grantClient       = "client_credentials"
)

// grants in the order measured: the code exchange, which adds items to
// the table, last.
var grants = []string{grantClient, grantRefresh, grantRefreshOther, grantRefreshOIDC, grantCode}

// result is one grant in one signing mode: the JSON line.
type result struct {
	Mode    string  `json:"signing_mode"`
	Grant   string  `json:"grant"`
	N       int     `json:"n"`
	DelayMS float64 `json:"aws_delay_ms"`
	// As the caller of the emulator sees it, in milliseconds.
	P50MS  float64 `json:"p50_ms"`
	P99MS  float64 `json:"p99_ms"`
	MeanMS float64 `json:"mean_ms"`
	// CPUMS is the function process's CPU time per invocation; AWSMS the
	// time its AWS requests took (the added delay and the emulators' own
	// time), per invocation.
	CPUMS float64 `json:"cpu_ms"`
	AWSMS float64 `json:"aws_ms"`
	// Requests are the AWS requests per invocation, by operation, and
	// DynamoDB capacity units per invocation (see awstest.DelayProxy).
	Requests map[string]float64 `json:"requests"`
	WRU      float64            `json:"write_units"`
	RRU      float64            `json:"read_units"`
}

func run(ctx context.Context, cfg config, logw io.Writer) ([]*result, error) {
	root, err := awstest.ModuleRoot(ctx)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "mrrt-latency-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	fmt.Fprintf(logw, "latency: building the token bootstrap (linux/%s)...\n", runtime.GOARCH)
	bootstraps, err := awstest.BuildBootstraps(ctx, root, dir, runtime.GOARCH, []local.Function{local.Token})
	if err != nil {
		return nil, err
	}
	emulator := cfg.rie
	if emulator == "" {
		if emulator, err = awstest.InstallEmulator(ctx, dir); err != nil {
			return nil, err
		}
	}
	defer awstest.RemoveBuilt()
	var out []*result
	for _, mode := range []string{modeKMS, modeEnvelope} {
		rs, err := measureMode(ctx, cfg, mode, dir, emulator, bootstraps[local.Token], logw)
		if err != nil {
			return nil, fmt.Errorf("%s mode: %w", mode, err)
		}
		out = append(out, rs...)
	}
	return out, nil
}

// measureMode measures every grant in one signing mode, on a fresh stack:
// moto's transactions slow down as its table grows, so each mode starts
// from the same table.
func measureMode(ctx context.Context, cfg config, mode, dir, emulator, bootstrap string, logw io.Writer) ([]*result, error) {
	fmt.Fprintf(logw, "latency: %s mode: starting moto_server and local-kms...\n", mode)
	home := filepath.Join(dir, mode)
	if err := os.MkdirAll(home, 0o700); err != nil {
		return nil, err
	}
	dep, err := awsstack.Start(ctx, home)
	if err != nil {
		return nil, err
	}
	defer dep.Stop()
	if mode == modeEnvelope {
		if err := addWrappedKey(ctx, dep); err != nil {
			return nil, err
		}
	}
	dyn, err := awstest.StartDelayProxy(dep.DynamoURL, cfg.delay)
	if err != nil {
		return nil, err
	}
	defer dyn.Stop()
	kp, err := awstest.StartDelayProxy(dep.KMSURL, cfg.delay)
	if err != nil {
		return nil, err
	}
	defer kp.Stop()
	env := dep.FunctionEnvVia(home, string(local.Token), dyn.URL, kp.URL, "SIGNING_MODE="+mode)
	m := &measurement{cfg: cfg, mode: mode, dep: dep, proxies: []*awstest.DelayProxy{dyn, kp}, bootstrap: bootstrap}
	if m.f, err = awstest.StartFunction(ctx, emulator, bootstrap, env); err != nil {
		return nil, err
	}
	defer m.f.Stop()
	rs, err := m.all(ctx)
	fmt.Fprintf(logw, "latency: %s mode done\n", mode)
	return rs, err
}

// addWrappedKey stores the envelope mode's current RS256 key pair.
func addWrappedKey(ctx context.Context, dep *awsstack.Stack) error {
	kc := kms.NewFromConfig(awsstack.Config(dep.KMSURL))
	wrap, err := kc.CreateKey(ctx, &kms.CreateKeyInput{KeySpec: kmstypes.KeySpecSymmetricDefault, KeyUsage: kmstypes.KeyUsageTypeEncryptDecrypt})
	if err != nil {
		return fmt.Errorf("create wrapping key: %w", err)
	}
	k, err := kmssigner.NewWrappedKey(ctx, kc, *wrap.KeyMetadata.Arn, oauth.AlgRS256, time.Now())
	if err != nil {
		return err
	}
	k.Current = true
	return dep.Store().PutWrappedKey(ctx, k)
}

// measurement is one signing mode's function.
type measurement struct {
	cfg       config
	mode      string
	dep       *awsstack.Stack
	proxies   []*awstest.DelayProxy
	f         *awstest.Function
	bootstrap string
	seq       int
}

func (m *measurement) all(ctx context.Context) ([]*result, error) {
	// Warm the instance: init, configuration cache, keys of both APIs.
	if _, err := m.post(ctx, clientCredentials()); err != nil {
		return nil, err
	}
	rt, err := m.signIn(ctx, "offline_access read:data")
	if err != nil {
		return nil, err
	}
	for _, aud := range []string{apiBilling, apiData} {
		if rt, err = m.refresh(ctx, rt, aud); err != nil {
			return nil, err
		}
	}
	var out []*result
	for _, g := range grants {
		r, err := m.grant(ctx, g)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", g, err)
		}
		out = append(out, r)
	}
	return out, nil
}

// grant measures cfg.n invocations of g.
func (m *measurement) grant(ctx context.Context, g string) (*result, error) {
	n := m.cfg.n
	var next func(i int) (url.Values, func(body map[string]any))
	switch g {
	case grantClient:
		next = func(int) (url.Values, func(map[string]any)) { return clientCredentials(), nil }
	case grantCode:
		codes := make([]string, n)
		for i := range codes {
			var err error
			if codes[i], err = m.newCode(ctx, "offline_access read:data"); err != nil {
				return nil, err
			}
		}
		next = func(i int) (url.Values, func(map[string]any)) { return redeem(codes[i]), nil }
	default:
		scope := "offline_access read:data"
		if g == grantRefreshOIDC {
			scope = "openid offline_access read:data"
		}
		rt, err := m.signIn(ctx, scope)
		if err != nil {
			return nil, err
		}
		next = func(i int) (url.Values, func(map[string]any)) {
			aud := apiData
			if g == grantRefreshOther && i%2 == 0 {
				aud = apiBilling
			}
			return refresh(rt, aud), func(body map[string]any) { rt, _ = body["refresh_token"].(string) }
		}
	}
	for _, p := range m.proxies {
		p.Reset()
	}
	cpu0, err := m.cpu()
	if err != nil {
		return nil, err
	}
	lat := make([]float64, 0, n)
	for i := range n {
		form, keep := next(i)
		start := time.Now()
		body, err := m.post(ctx, form)
		if err != nil {
			return nil, err
		}
		lat = append(lat, float64(time.Since(start).Microseconds())/1000)
		if keep != nil {
			keep(body)
		}
	}
	cpu1, err := m.cpu()
	if err != nil {
		return nil, err
	}
	r := &result{Mode: m.mode, Grant: g, N: n, DelayMS: float64(m.cfg.delay.Microseconds()) / 1000, Requests: map[string]float64{}}
	r.P50MS, r.P99MS, r.MeanMS = percentile(lat, 50), percentile(lat, 99), round2(mean(lat))
	r.CPUMS = round2(float64(cpu1-cpu0) / 1e6 / float64(n))
	for _, p := range m.proxies {
		for op, c := range p.Counts.Counts() {
			r.Requests[op] = round2(float64(c) / float64(n))
		}
		w, rr := p.Units()
		r.WRU += round2(w / float64(n))
		r.RRU += round2(rr / float64(n))
		r.AWSMS += round2(float64(p.Busy().Microseconds()) / 1000 / float64(n))
	}
	return r, nil
}

// cpu is the function process's CPU time so far, in nanoseconds (the sum
// of its threads' schedstat run times).
func (m *measurement) cpu() (int64, error) {
	pid, err := m.f.RuntimePID(m.bootstrap)
	if err != nil {
		return 0, err
	}
	stats, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/schedstat", pid))
	if err != nil {
		return 0, err
	}
	var sum int64
	for _, s := range stats {
		b, err := os.ReadFile(s)
		if err != nil {
			continue // a thread that ended
		}
		f := strings.Fields(string(b))
		if len(f) == 0 {
			continue
		}
		v, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", s, err)
		}
		sum += v
	}
	return sum, nil
}

// post sends form to /oauth/token and wants a 200.
func (m *measurement) post(ctx context.Context, form url.Values) (map[string]any, error) {
	m.seq++
	event, err := awstest.TokenEvent(form, fmt.Sprintf("latency-%s-%d", m.mode, m.seq))
	if err != nil {
		return nil, err
	}
	inv, err := m.f.Invoke(ctx, event)
	if err != nil {
		return nil, err
	}
	var body map[string]any
	if err := json.Unmarshal([]byte(inv.Response.Body), &body); err != nil || inv.Response.StatusCode != 200 {
		return nil, fmt.Errorf("%s: %d %s", form.Get("grant_type"), inv.Response.StatusCode, inv.Response.Body)
	}
	return body, nil
}

// signIn redeems a fresh code and returns its refresh token.
func (m *measurement) signIn(ctx context.Context, scope string) (string, error) {
	code, err := m.newCode(ctx, scope)
	if err != nil {
		return "", err
	}
	body, err := m.post(ctx, redeem(code))
	if err != nil {
		return "", err
	}
	rt, _ := body["refresh_token"].(string)
	if rt == "" {
		return "", fmt.Errorf("code exchange without a refresh token")
	}
	return rt, nil
}

func (m *measurement) refresh(ctx context.Context, rt, audience string) (string, error) {
	body, err := m.post(ctx, refresh(rt, audience))
	if err != nil {
		return "", err
	}
	next, _ := body["refresh_token"].(string)
	return next, nil
}

// newCode writes an authorization code straight to the table (not
// through the proxies).
func (m *measurement) newCode(ctx context.Context, scope string) (string, error) {
	return awsstack.NewCode(ctx, m.dep.Store(), scope)
}

func clientCredentials() url.Values {
	return url.Values{"grant_type": {"client_credentials"}, "client_id": {m2mID}, "client_secret": {m2mSecret}, "audience": {apiData}}
}

func redeem(code string) url.Values { return awsstack.RedeemForm(code) }

func refresh(rt, audience string) url.Values {
	return url.Values{"grant_type": {"refresh_token"}, "client_id": {awsstack.DemoSPA}, "refresh_token": {rt}, "audience": {audience}}
}

// percentile is the nearest-rank percentile p of xs, rounded to 0.01.
func percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(xs))
	i := int(math.Ceil(p/100*float64(len(s)))) - 1
	return round2(s[max(i, 0)])
}

func mean(xs []float64) float64 {
	var sum float64
	for _, x := range xs {
		sum += x
	}
	return sum / float64(max(len(xs), 1))
}

func round2(x float64) float64 { return math.Round(x*100) / 100 }
