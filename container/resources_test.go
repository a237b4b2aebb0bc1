package container

import (
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestMergeResources(t *testing.T) {
	i64 := func(v int64) *int64 { return &v }
	u64 := func(v uint64) *uint64 { return &v }
	old := &specs.LinuxResources{
		Memory:  &specs.LinuxMemory{Limit: i64(100), Reservation: i64(50)},
		CPU:     &specs.LinuxCPU{Shares: u64(512), Cpus: "0-1"},
		Unified: map[string]string{"a": "1", "b": "2"},
	}
	upd := &specs.LinuxResources{
		Memory:  &specs.LinuxMemory{Limit: i64(200)},
		CPU:     &specs.LinuxCPU{Quota: i64(5000)},
		Pids:    &specs.LinuxPids{Limit: i64(7)},
		Unified: map[string]string{"b": "3"},
	}
	got := mergeResources(old, upd)
	if *got.Memory.Limit != 200 || *got.Memory.Reservation != 50 {
		t.Errorf("memory %+v: the update's limit with the old reservation expected", got.Memory)
	}
	if *got.CPU.Shares != 512 || *got.CPU.Quota != 5000 || got.CPU.Cpus != "0-1" {
		t.Errorf("cpu %+v", got.CPU)
	}
	if got.Pids == nil || *got.Pids.Limit != 7 {
		t.Errorf("pids %+v", got.Pids)
	}
	if got.Unified["a"] != "1" || got.Unified["b"] != "3" {
		t.Errorf("unified %v", got.Unified)
	}
	if *old.Memory.Limit != 100 || old.Unified["b"] != "2" {
		t.Error("merge changed the old resources")
	}
}
