package main

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// The driver and the server it starts share the machine's cores, so a run
// records where the CPU time went: the driver, the server, and anything
// else on the machine (another build or test makes a figure worthless).
// Linux only; clock ticks are USER_HZ, 100 on every Linux port Go supports.
const ticksPerSecond = 100

// cpuSample is a point-in-time reading of CPU counters, in clock ticks.
type cpuSample struct {
	machine int64 // busy ticks of all CPUs together (/proc/stat)
	driver  int64 // utime+stime of this process
	server  int64 // utime+stime of the server process, when known
}

func sampleCPU(serverPID int) (cpuSample, error) {
	var s cpuSample
	var err error
	if s.machine, err = machineBusyTicks(); err != nil {
		return s, err
	}
	if s.driver, err = processTicks("self"); err != nil {
		return s, err
	}
	if serverPID > 0 {
		if s.server, err = processTicks(strconv.Itoa(serverPID)); err != nil {
			return s, err
		}
	}
	return s, nil
}

// cores converts ticks spent over seconds into average cores busy.
func cores(ticks int64, seconds float64) float64 {
	return round(float64(ticks)/ticksPerSecond/seconds, 2)
}

// machineBusyTicks sums the non-idle fields of the "cpu" line of /proc/stat:
// user nice system idle iowait irq softirq steal (guest time is already in user).
func machineBusyTicks() (int64, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, err
	}
	line, _, _ := bytes.Cut(b, []byte("\n"))
	f := strings.Fields(string(line))
	if len(f) < 9 || f[0] != "cpu" {
		return 0, fmt.Errorf("/proc/stat: unexpected first line %q", line)
	}
	var busy int64
	for i, v := range f[1:9] {
		if i == 3 || i == 4 { // idle, iowait
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/stat: %w", err)
		}
		busy += n
	}
	return busy, nil
}

// processTicks returns utime+stime of /proc/<pid>/stat (fields 14 and 15).
func processTicks(pid string) (int64, error) {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may hold spaces; it ends at the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%s/stat: no command name", pid)
	}
	f := strings.Fields(string(b[i+1:])) // f[0] is field 3 (state)
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%s/stat: too few fields", pid)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%s/stat: bad utime/stime", pid)
	}
	return utime + stime, nil
}
