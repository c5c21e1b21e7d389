package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/chaostest/chaostest/journal"
)

const reportUsage = `usage: chaostest report JOURNAL... [-o FILE] [--format html|markdown]

Renders one or more journal.json files (from chaostest or Chaos Toolkit).

  --format html      one self-contained HTML file (no external scripts, styles or fonts) with
                     the verdict, configuration (secrets masked), an SVG timeline and each
                     activity's details; several journals are set side by side.
  --format markdown  a compact summary for CI job summaries; several journals one after another.

The format defaults to markdown when FILE ends in .md or .markdown, to html otherwise.
FILE defaults to report.html for html and to standard output for markdown; "-o -" always
writes to standard output. Flags may come before or after the journals.
Exit status: 0 when the report was written, 1 when a journal cannot be read or the report
cannot be written, 2 for usage errors.
`

// reportMain implements `chaostest report`.
func reportMain(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var out, format string
	fs.StringVar(&out, "o", "", "output file")
	fs.StringVar(&out, "output", "", "output file")
	fs.StringVar(&format, "format", "", "html or markdown")
	paths, err := parseInterleaved(fs, args)
	if err == flag.ErrHelp {
		fmt.Fprint(stdout, reportUsage)
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "chaostest report: %v\n%s", err, reportUsage)
		return 2
	}
	if len(paths) == 0 {
		fmt.Fprintf(stderr, "chaostest report: expected at least one JOURNAL, got none\n%s", reportUsage)
		return 2
	}
	switch format {
	case "":
		format = "html"
		if ext := strings.ToLower(filepath.Ext(out)); ext == ".md" || ext == ".markdown" {
			format = "markdown"
		}
	case "html", "markdown":
	case "md":
		format = "markdown"
	default:
		fmt.Fprintf(stderr, "chaostest report: --format must be html or markdown, got %q\n%s", format, reportUsage)
		return 2
	}
	if out == "" {
		out = "-"
		if format == "html" {
			out = "report.html"
		}
	}

	journals := make([]*journal.Journal, 0, len(paths))
	for _, p := range paths {
		j, err := journal.Read(p)
		if err != nil {
			fmt.Fprintf(stderr, "chaostest report: %v\n", err)
			return 1
		}
		journals = append(journals, j)
	}

	var buf bytes.Buffer
	if format == "html" {
		err = journal.RenderHTML(&buf, journals...)
	} else {
		for i, j := range journals {
			if i > 0 {
				buf.WriteString("\n---\n\n")
			}
			if err = journal.RenderMarkdown(&buf, j); err != nil {
				break
			}
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "chaostest report: rendering: %v\n", err)
		return 1
	}
	if out == "-" {
		if _, err := stdout.Write(buf.Bytes()); err != nil {
			fmt.Fprintf(stderr, "chaostest report: writing to standard output: %v\n", err)
			return 1
		}
		return 0
	}
	if err := writeFileAtomic(out, buf.Bytes()); err != nil {
		fmt.Fprintf(stderr, "chaostest report: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "wrote %s report of %d %s to %s\n", format, len(journals), pluralWord(len(journals), "journal", "journals"), out)
	return 0
}

// writeFileAtomic writes data to path through a temporary file in the same directory and a
// rename, so a reader never sees a half-written report.
func writeFileAtomic(path string, data []byte) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(f.Name())
		}
	}()
	if _, err = f.Write(data); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err = f.Chmod(0o644); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

func pluralWord(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
