package memstore

import (
	"testing"
	"time"
)

func TestRecordLoginFailureDropsFailuresOutsideTheWindow(t *testing.T) {
	// A key that keeps failing must not grow without bound: only the
	// failures of the last window are kept.
	s := New()
	base := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for i := range 100 {
		if _, err := s.RecordLoginFailure(t.Context(), "k", base.Add(time.Duration(i)*time.Second), 10*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(s.failures["k"]); n != 10 {
		t.Errorf("kept %d failure times, want the 10 within the window", n)
	}
}
