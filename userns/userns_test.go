package userns

import (
	"os"
	"testing"
)

func TestIsInitialMap(t *testing.T) {
	tests := []struct {
		m    string
		want bool
	}{
		{"         0          0 4294967295\n", true},
		{"0 1000 1\n", false},
		{"0 1000 1\n1 100000 65536\n", false},
		{"0 0 65536\n", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := isInitialMap(tt.m); got != tt.want {
			t.Errorf("isInitialMap(%q) = %v, want %v", tt.m, got, tt.want)
		}
	}
}

func TestRootlessFlag(t *testing.T) {
	if !Rootless("true") || Rootless("false") {
		t.Fatal("explicit --rootless not honoured")
	}
	if want := os.Geteuid() != 0 || InUserNamespace(); Rootless("auto") != want {
		t.Fatalf("auto = %v, want %v", Rootless("auto"), want)
	}
}

func TestFindHelperRefusesPlainBinary(t *testing.T) {
	Helpers.NewUIDMap = "/bin/true"
	defer func() { Helpers.NewUIDMap = "" }()
	if _, err := FindHelper("uid"); err == nil {
		t.Fatal("a non-setuid binary accepted as newuidmap")
	}
}
