package main

import (
	"strings"
	"testing"
	"time"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
)

func TestAnEventIsOneReadableLine(t *testing.T) {
	line := renderEvent(oauth.Event{LogID: "1", Date: time.Now(), Type: "sertft", Description: oauth.EventTypes["sertft"],
		UserID: "auth0|demo", ClientID: "demo-spa", Audience: "https://billing.example.com", Scope: "openid read:billing",
		Details: map[string]any{"family_id": "3f2a9c1e7b5d4e6f", "generation": 2, "original_audience": "https://api.example.com"}})
	want := `event sertft   Success Exchange (Refresh Token for Access Token)  user=auth0|demo client=demo-spa aud=https://billing.example.com scope="openid read:billing" from=https://api.example.com family=3f2a9c1e gen=2`
	if line != want || strings.Contains(line, "\n") {
		t.Errorf("line\n got %s\nwant %s", line, want)
	}
}
