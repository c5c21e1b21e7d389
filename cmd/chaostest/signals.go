package main

import (
	"context"
	"os"
	"os/signal"
	"sync"
	"syscall"

	"github.com/chaostest/chaostest/engine"
)

// interrupter turns the signals chaoslib handles (SIGINT, SIGTERM, SIGUSR1, SIGUSR2, and SIGHUP
// like SIGTERM) into interruptions of the run: the first one cancels the run's context with a
// engine.SignalInterrupt; one received while rollbacks run (the first, or a second one)
// cancels the rollbacks' context, which stops them.
type interrupter struct {
	log func(engine.Level, string)
	ch  chan os.Signal

	mu        sync.Mutex
	runCancel context.CancelCauseFunc
	runDone   bool
	rbCancel  context.CancelCauseFunc // set while rollbacks run
	pending   error                   // a signal after the run's interruption, before rollbacks
	done      chan struct{}
}

// notifySignals starts handling the signals; stop undoes it.
func notifySignals(log func(engine.Level, string)) (ctx context.Context, i *interrupter, stop func()) {
	ctx, cancel := context.WithCancelCause(context.Background())
	i = &interrupter{log: log, ch: make(chan os.Signal, 8), runCancel: cancel, done: make(chan struct{})}
	signal.Notify(i.ch, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGUSR1, syscall.SIGUSR2)
	go func() {
		defer close(i.done)
		for s := range i.ch {
			i.handle(s)
		}
	}()
	return ctx, i, func() {
		signal.Stop(i.ch)
		close(i.ch)
		<-i.done
		cancel(nil)
	}
}

func signalName(s os.Signal) string {
	switch s {
	case syscall.SIGINT:
		return "SIGINT"
	case syscall.SIGTERM:
		return "SIGTERM"
	case syscall.SIGHUP:
		return "SIGHUP"
	case syscall.SIGUSR1:
		return "SIGUSR1"
	case syscall.SIGUSR2:
		return "SIGUSR2"
	}
	return s.String()
}

func (i *interrupter) handle(s os.Signal) {
	si := &engine.SignalInterrupt{Signal: signalName(s)}
	if level, msg, ok := si.Caught(); ok {
		i.log(level, msg)
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	switch {
	case i.rbCancel != nil:
		i.rbCancel(si)
	case !i.runDone:
		i.runDone = true
		i.runCancel(si)
	case i.pending == nil:
		i.pending = si
	}
}

// rollbackContext is Settings.RollbackContext: a context the run's interruption does not end
// (rollbacks really run, each under its own activity timeout), ended by the next signal.
func (i *interrupter) rollbackContext() (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(context.Background())
	i.mu.Lock()
	if i.pending != nil {
		cancel(i.pending)
	}
	i.rbCancel = cancel
	i.mu.Unlock()
	return ctx, func() {
		i.mu.Lock()
		i.rbCancel = nil
		i.mu.Unlock()
		cancel(nil)
	}
}

// survivePipes keeps the process alive when its stdout or stderr is a pipe whose reader went
// away (`chaostest run x.json 2>&1 | head`): without it Go dies of SIGPIPE at the next log line,
// in the middle of a method, with no rollback and no journal. With SIGPIPE caught, such a write
// fails with EPIPE (log lines are lost) and the run goes on to its rollbacks and journal, as
// `chaos run` does. A caught signal is reset to its default in child processes, so providers'
// processes keep the usual SIGPIPE behaviour.
func survivePipes() {
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)
}
