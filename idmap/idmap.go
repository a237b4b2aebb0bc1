// Package idmap reads the subordinate id ranges of /etc/subuid and
// /etc/subgid and computes user namespace mappings from them. It is pure:
// it reads files and makes no other system calls.
package idmap

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Range is a run of subordinate ids: Start, Start+1, ..., Start+Size-1.
type Range struct {
	Start, Size uint32
}

// Files where the subordinate ranges live.
const (
	SubUIDFile = "/etc/subuid"
	SubGIDFile = "/etc/subgid"
)

// Ranges returns the ranges that file grants to the user with the given
// name or numeric id (either form may appear in the file), sorted by
// start. A missing file means no ranges.
func Ranges(file, name string, id uint32) ([]Range, error) {
	f, err := os.Open(file)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, nil
		}
		return nil, err
	}
	defer f.Close()
	return parse(f, file, name, id)
}

func parse(r io.Reader, file, name string, id uint32) ([]Range, error) {
	var out []Range
	sc := bufio.NewScanner(r)
	idStr := strconv.FormatUint(uint64(id), 10)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		fields := strings.Split(text, ":")
		if len(fields) != 3 {
			return nil, fmt.Errorf("%s:%d: want NAME:START:COUNT, got %q", file, line, text)
		}
		if fields[0] != name && fields[0] != idStr {
			continue
		}
		start, err1 := strconv.ParseUint(fields[1], 10, 32)
		size, err2 := strconv.ParseUint(fields[2], 10, 32)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("%s:%d: bad range %q", file, line, text)
		}
		if size == 0 {
			continue
		}
		if start+size > 1<<32 {
			return nil, fmt.Errorf("%s:%d: range %q runs past the largest id", file, line, text)
		}
		out = append(out, Range{uint32(start), uint32(size)})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Start < out[j].Start })
	return out, nil
}

// RootlessMappings maps container id 0 to the user's own id, and the
// subordinate ranges, in order, to container ids 1, 2, ...: the layout
// podman and crun use.
func RootlessMappings(own uint32, sub []Range) []specs.LinuxIDMapping {
	m := []specs.LinuxIDMapping{{ContainerID: 0, HostID: own, Size: 1}}
	next := uint32(1)
	for _, r := range sub {
		m = append(m, specs.LinuxIDMapping{ContainerID: next, HostID: r.Start, Size: r.Size})
		next += r.Size
	}
	return m
}

// Covered says whether every host id the mapping uses is the user's own
// id or inside one of its subordinate ranges; if not, it returns the
// first mapping that is not.
func Covered(m []specs.LinuxIDMapping, own uint32, sub []Range) (specs.LinuxIDMapping, bool) {
	for _, e := range m {
		if e.Size == 1 && e.HostID == own {
			continue
		}
		if !inRanges(e.HostID, e.Size, own, sub) {
			return e, false
		}
	}
	return specs.LinuxIDMapping{}, true
}

func inRanges(start, size, own uint32, sub []Range) bool {
	end := uint64(start) + uint64(size)
	pos := uint64(start)
	// Walk the ranges (sorted) and the own id, consuming [pos, end).
	for pos < end {
		advanced := false
		if pos == uint64(own) {
			pos++
			advanced = true
		}
		for _, r := range sub {
			rs, re := uint64(r.Start), uint64(r.Start)+uint64(r.Size)
			if pos >= rs && pos < re {
				pos = re
				advanced = true
			}
		}
		if !advanced {
			return false
		}
	}
	return true
}

// IsSelfOnly says whether the mapping is a single id mapped to the user's
// own id: the only mapping an unprivileged process may write itself.
func IsSelfOnly(m []specs.LinuxIDMapping, own uint32) bool {
	return len(m) == 1 && m[0].Size == 1 && m[0].HostID == own
}
