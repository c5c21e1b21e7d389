package pybridge

import (
	"os"
	"syscall"
)

// sysProcAttr puts the child in its own process group (so a stop kills what it started too) and
// has the kernel kill it when the thread that started it, and so this process, dies.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// killGroup kills the child's process group.
func killGroup(p *os.Process) {
	if p == nil {
		return
	}
	_ = syscall.Kill(-p.Pid, syscall.SIGKILL)
	_ = p.Kill()
}
