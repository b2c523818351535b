package awstest

import (
	"encoding/json"
	"net/url"
)

// TokenEvent is the API Gateway v2 event of POST /oauth/token with form
// as its body, from 127.0.0.1 to the deployment's host.
func TokenEvent(form url.Values, requestID string) ([]byte, error) {
	return json.Marshal(map[string]any{
		"version": "2.0", "routeKey": "POST /oauth/token", "rawPath": "/oauth/token", "rawQueryString": "",
		"headers": map[string]string{"content-type": "application/x-www-form-urlencoded", "host": "auth.example.com"},
		"requestContext": map[string]any{
			"http":      map[string]string{"method": "POST", "path": "/oauth/token", "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "awstest"},
			"requestId": requestID, "routeKey": "POST /oauth/token", "stage": "$default", "domainName": "auth.example.com",
		},
		"body": form.Encode(), "isBase64Encoded": false,
	})
}
