package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"syscall"
)

// setDeathSignal asks the kernel to send the child SIGTERM if this process
// dies without stopping it (best effort: Linux ties it to the thread that
// started the child).
func setDeathSignal(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}

// procMemory is a process's memory as /proc/<pid>/status reports it, in bytes.
type procMemory struct {
	rss   int64 // VmRSS: resident set, all kinds
	hwm   int64 // VmHWM: peak resident set since start or the last reset
	anon  int64 // RssAnon: resident anonymous memory (Go heap, stacks)
	file  int64 // RssFile: resident file mappings (binary text, mmapped files)
	shmem int64 // RssShmem
}

// readMemory reads /proc/<pid>/status.
func readMemory(pid int) (procMemory, error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return procMemory{}, err
	}
	return parseStatus(data)
}

// parseStatus extracts the memory fields of a /proc/<pid>/status file.
func parseStatus(data []byte) (procMemory, error) {
	var m procMemory
	fields := map[string]*int64{"VmRSS:": &m.rss, "VmHWM:": &m.hwm, "RssAnon:": &m.anon, "RssFile:": &m.file, "RssShmem:": &m.shmem}
	found := 0
	for line := range bytes.Lines(data) {
		f := bytes.Fields(line)
		if len(f) != 3 || string(f[2]) != "kB" {
			continue
		}
		p, ok := fields[string(f[0])]
		if !ok {
			continue
		}
		v, err := strconv.ParseInt(string(f[1]), 10, 64)
		if err != nil {
			return procMemory{}, fmt.Errorf("bad %s line in /proc status: %q", f[0], line)
		}
		*p = v << 10
		found++
	}
	if m.rss == 0 || found < 2 {
		return procMemory{}, fmt.Errorf("no VmRSS/VmHWM in /proc status")
	}
	return m, nil
}

// readRSS reads only VmRSS, as cheaply as the sampler can.
func readRSS(pid int, buf []byte) (int64, error) {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	n, err := f.Read(buf)
	f.Close()
	if n == 0 {
		return 0, err
	}
	i := bytes.Index(buf[:n], []byte("\nVmRSS:"))
	if i < 0 {
		return 0, fmt.Errorf("no VmRSS in /proc status")
	}
	f2 := bytes.Fields(buf[i+1 : n])
	if len(f2) < 3 {
		return 0, fmt.Errorf("bad VmRSS line")
	}
	v, err := strconv.ParseInt(string(f2[1]), 10, 64)
	return v << 10, err
}

// resetPeak resets the process's VmHWM to its current VmRSS
// (proc(5): writing 5 to /proc/<pid>/clear_refs).
func resetPeak(pid int) error {
	return os.WriteFile("/proc/"+strconv.Itoa(pid)+"/clear_refs", []byte("5"), 0)
}
