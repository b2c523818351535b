package main

import "testing"

func TestCheckLoopback(t *testing.T) {
	tests := []struct {
		addr string
		ok   bool
	}{
		{"127.0.0.1:0", true},
		{"127.0.0.2:4599", true},
		{"[::1]:4599", true},
		{"localhost:4599", true},
		{"0.0.0.0:4599", false},
		{":4599", false},
		{"[::]:4599", false},
		{"192.168.1.10:4599", false},
		{"kms.example.com:4599", false},
		{"127.0.0.1", false},
	}
	for _, tt := range tests {
		name := tt.addr + " is refused"
		if tt.ok {
			name = tt.addr + " is accepted"
		}
		t.Run(name, func(t *testing.T) {
			if err := checkLoopback(tt.addr); (err == nil) != tt.ok {
				t.Errorf("checkLoopback(%q) = %v", tt.addr, err)
			}
		})
	}
}
