//go:build !linux

package pybridge

import (
	"os"
	"syscall"
)

// sysProcAttr: no Pdeathsig outside Linux; the child exits when its stdin closes.
func sysProcAttr() *syscall.SysProcAttr { return nil }

// killGroup kills the child.
func killGroup(p *os.Process) {
	if p != nil {
		_ = p.Kill()
	}
}
