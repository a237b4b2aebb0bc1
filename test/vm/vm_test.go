// Package vm holds the provisioning shared by the Vagrantfile and the VM
// test tier (run.sh, which boots a VM and runs tests.sh in it). Its tests
// check that the files parse; the tier itself runs with test/vm/run.sh.
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

// TestTierScriptsSyntax checks the VM tier's scripts: the host's run.sh,
// the tests run in the VM, and the image's initramfs /init and test unit
// script (busybox sh and dash: checked with sh -n).
func TestTierScriptsSyntax(t *testing.T) {
	for _, c := range []struct{ shell, file string }{
		{"bash", "test/vm/run.sh"},
		{"bash", "test/vm/tests.sh"},
		{"sh", "test/vm/image/init"},
		{"sh", "test/vm/image/hako-vm-tests"},
	} {
		t.Run(filepath.Base(c.file), func(t *testing.T) {
			out, err := exec.Command(c.shell, "-n", repoFile(t, c.file)).CombinedOutput()
			if err != nil {
				t.Fatalf("%s -n %s: %v\n%s", c.shell, c.file, err, out)
			}
		})
	}
}
