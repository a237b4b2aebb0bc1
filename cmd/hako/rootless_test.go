package main

import (
	"testing"

	"github.com/alecthomas/kong"
)

func TestRootlessFlag(t *testing.T) {
	tests := []struct {
		args    []string
		want    rootlessMode
		wantErr bool
	}{
		{[]string{"list"}, "auto", false},
		{[]string{"--rootless=true", "list"}, "true", false},
		{[]string{"--rootless", "false", "list"}, "false", false},
		{[]string{"--rootless", "list"}, "true", false},
		{[]string{"spec", "--rootless"}, "true", false},
		{[]string{"spec", "--rootless", "--bundle", "x"}, "true", false},
		{[]string{"--rootless=maybe", "list"}, "", true},
	}
	for _, tt := range tests {
		var cli CLI
		p, err := kong.New(&cli, kong.Vars{"version": "test"})
		if err != nil {
			t.Fatal(err)
		}
		_, err = p.Parse(tt.args)
		if (err != nil) != tt.wantErr {
			t.Errorf("%v: err %v, want error %v", tt.args, err, tt.wantErr)
			continue
		}
		if !tt.wantErr && cli.Rootless != tt.want {
			t.Errorf("%v: rootless %q, want %q", tt.args, cli.Rootless, tt.want)
		}
	}
}
