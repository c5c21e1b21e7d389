package main

import (
	"github.com/chaostest/chaostest/engine"
)

// sizeFlag is --max-file-size: a size in bytes with an optional unit (see engine.ParseSize).
type sizeFlag struct{ n int64 }

func (s *sizeFlag) String() string {
	if s == nil || s.n == 0 {
		return ""
	}
	return engine.FormatSize(s.n)
}

func (s *sizeFlag) Set(v string) error {
	n, err := engine.ParseSize(v)
	if err != nil {
		return err
	}
	s.n = n
	return nil
}

// loadOptions are the options the experiment and var files are read with.
func (f *runFlags) loadOptions() engine.LoadOptions {
	return engine.LoadOptions{MaxFileSize: f.maxFileSize.n, InsecureTLS: f.noVerifyTLS}
}
