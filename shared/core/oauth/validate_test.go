package oauth

import (
	"errors"
	"testing"
)

func TestResourceParam(t *testing.T) {
	tests := []struct {
		name, audience, resource string
		want                     string
		wantCode                 ErrorCode
	}{
		{"neither names no API", "", "", "", ""},
		{"audience alone is the API", "https://api.example.com", "", "https://api.example.com", ""},
		{"resource alone is the API", "", "https://api.example.com", "https://api.example.com", ""},
		{"both equal are the API", "https://api.example.com", "https://api.example.com", "https://api.example.com", ""},
		{"both different are invalid_request", "https://a.example.com", "https://b.example.com", "", InvalidRequest},
		{"a relative resource is invalid_target", "", "api", "", InvalidTarget},
		{"a resource with a fragment is invalid_target", "", "https://api.example.com/#x", "", InvalidTarget},
		{"an empty fragment counts too", "", "https://api.example.com/#", "", InvalidTarget},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ResourceParam(tt.audience, tt.resource)
			var oe *Error
			switch {
			case tt.wantCode == "" && (err != nil || got != tt.want):
				t.Errorf("ResourceParam = %q, %v; want %q", got, err, tt.want)
			case tt.wantCode != "" && (!errors.As(err, &oe) || oe.Code != tt.wantCode):
				t.Errorf("ResourceParam error %v, want %s", err, tt.wantCode)
			}
		})
	}
}

// Auth0 accepts http on localhost for every application type: what SPA and
// web developers register first. Anything else over http is refused.
func TestLocalDevelopmentURLsForEveryAppType(t *testing.T) {
	for _, appType := range []string{AppTypeSPA, AppTypeRegularWeb, AppTypeNative} {
		for _, tc := range []struct {
			url  string
			kind URLKind
			ok   bool
		}{
			{"http://localhost:3000/callback", CallbackURL, true},
			{"http://127.0.0.1:3000/callback", CallbackURL, true},
			{"http://[::1]:3000/callback", CallbackURL, true},
			{"http://localhost:3000/", LogoutURL, true},
			{"http://localhost:3000", OriginURL, true},
			{"http://localhost.evil.example/callback", CallbackURL, false},
			{"http://127.0.0.2/callback", CallbackURL, false},
			{"http://app.example.com/callback", CallbackURL, false},
			{"http://localhost:3000/app", OriginURL, false},
		} {
			err := CheckURL("f", tc.url, tc.kind, appType)
			if (err == nil) != tc.ok {
				t.Errorf("%s: %s (kind %d): %v, want accepted=%v", appType, tc.url, tc.kind, err, tc.ok)
			}
		}
	}
}
