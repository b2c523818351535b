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
