package awstest

import (
	"os"
	"path/filepath"
	"strings"
)

// FunctionConfig is what a function needs to run against emulated AWS services:
// the variables the SAM template sets (see shared/awsdeps) and where the
// SDK should send its requests.
type FunctionConfig struct {
	Name      string   // function name, as AWS_LAMBDA_FUNCTION_NAME
	Table     string   // TABLE_NAME
	KeyID     string   // KMS_KEY_ID
	MACKeyID  string   // KMS_MAC_KEY_ID
	Issuer    string   // ISSUER
	Region    string   // default us-east-1
	DynamoDB  string   // AWS_ENDPOINT_URL_DYNAMODB
	KMS       string   // AWS_ENDPOINT_URL_KMS
	HomeDir   string   // HOME of the function (best an empty directory); default os.TempDir()
	Extra     []string // more NAME=value entries, appended last
	CacheTTL  string   // CONFIG_CACHE_TTL; "" leaves the default
	TimeoutS  string   // AWS_LAMBDA_FUNCTION_TIMEOUT in seconds; default 30
	MemoryMiB string   // AWS_LAMBDA_FUNCTION_MEMORY_SIZE; default 256
}

// Env returns the complete environment for StartFunction. Nothing of the caller's
// environment is passed on except PATH: a developer's AWS profile or
// credentials can never reach the function; the SDK gets dummy credentials
// and no shared config files.
func (c FunctionConfig) Env() []string {
	def := func(v, d string) string {
		if v == "" {
			return d
		}
		return v
	}
	home := def(c.HomeDir, os.TempDir())
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + home,
		"AWS_LAMBDA_FUNCTION_NAME=" + def(c.Name, "function"),
		"AWS_LAMBDA_FUNCTION_TIMEOUT=" + def(c.TimeoutS, "30"),
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=" + def(c.MemoryMiB, "256"),
		"AWS_REGION=" + def(c.Region, "us-east-1"),
		"AWS_ACCESS_KEY_ID=test",
		"AWS_SECRET_ACCESS_KEY=test",
		"AWS_CONFIG_FILE=" + filepath.Join(home, "no-aws-config"),
		"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(home, "no-aws-credentials"),
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_ENDPOINT_URL_DYNAMODB=" + c.DynamoDB,
		"AWS_ENDPOINT_URL_KMS=" + c.KMS,
		"TABLE_NAME=" + c.Table,
		"KMS_KEY_ID=" + c.KeyID,
		"KMS_MAC_KEY_ID=" + c.MACKeyID,
		"ISSUER=" + strings.TrimSuffix(c.Issuer, "/"),
	}
	if c.CacheTTL != "" {
		env = append(env, "CONFIG_CACHE_TTL="+c.CacheTTL)
	}
	return append(env, c.Extra...)
}
