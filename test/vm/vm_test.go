// Package vm holds the provisioning shared by the Vagrantfile and the VM
// test tier. Its tests check that both parse.
package vm

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

func repoFile(t *testing.T, rel string) string {
	t.Helper()
	_, here, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("cannot find the test's source")
	}
	return filepath.Join(filepath.Dir(here), "..", "..", rel)
}

// TestVagrantfileSyntax runs Ruby's syntax check on the Vagrantfile
// (test/deps.sh installs ruby).
func TestVagrantfileSyntax(t *testing.T) {
	out, err := exec.Command("ruby", "-c", repoFile(t, "Vagrantfile")).CombinedOutput()
	if err != nil {
		t.Fatalf("ruby -c Vagrantfile: %v\n%s", err, out)
	}
}

// TestProvisionSyntax checks the provisioning script with bash -n.
func TestProvisionSyntax(t *testing.T) {
	out, err := exec.Command("bash", "-n", repoFile(t, "test/vm/provision.sh")).CombinedOutput()
	if err != nil {
		t.Fatalf("bash -n provision.sh: %v\n%s", err, out)
	}
}
