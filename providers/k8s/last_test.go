package k8s

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestParseLastReadsDateparserRelativeForms(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"20s":              20 * time.Second,
		"30 seconds":       30 * time.Second,
		"10 minutes":       10 * time.Minute,
		"1 minute ago":     time.Minute,
		"a minute":         time.Minute,
		"an hour":          time.Hour,
		"2h30m":            2*time.Hour + 30*time.Minute,
		"1.5 hours":        90 * time.Minute,
		"1 day, 2 hours":   26 * time.Hour,
		"1 week":           7 * 24 * time.Hour,
		"5 mins":           5 * time.Minute,
		"45":               45 * time.Second,
		"1m30s":            90 * time.Second,
		"  15 Sec  ":       15 * time.Second,
		"3 hrs and 5 mins": 3*time.Hour + 5*time.Minute,
	} {
		got, err := parseLast(in)
		if assert.NoError(t, err, in) {
			assert.Equal(t, want, got, in)
		}
	}
}

func TestParseLastRejectsWhatItCannotRead(t *testing.T) {
	for _, in := range []string{"", "soon", "10 parsecs", "minutes", "-5s", "1 2"} {
		_, err := parseLast(in)
		assert.Error(t, err, in)
	}
	_, err := parseLast("10 parsecs")
	assert.EqualError(t, err, `cannot read last="10 parsecs" as a time span: unknown unit "parsecs"`)
}

func TestShlexSplitLikePython(t *testing.T) {
	for in, want := range map[string][]string{
		`echo hello world`:          {"echo", "hello", "world"},
		`sh -c 'echo a  b; exit 3'`: {"sh", "-c", "echo a  b; exit 3"},
		`a "b \"c\" d" e\ f`:        {"a", `b "c" d`, "e f"},
		`  x   `:                    {"x"},
		`''`:                        {""},
	} {
		got, err := shlexSplit(in)
		if assert.NoError(t, err, in) {
			assert.Equal(t, want, got, in)
		}
	}
	_, err := shlexSplit(`echo 'open`)
	assert.EqualError(t, err, `cannot split command "echo 'open": No closing quotation`)
}
