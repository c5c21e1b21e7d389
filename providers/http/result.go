package http

import "encoding/json"

// Result is the output of an http activity as Go values, for a Go tolerance:
//
//	http.Get(url).Want(func(r http.Result) error {
//		if r.Status != 200 || !strings.Contains(r.BodyText(), "ok") {
//			return fmt.Errorf("status %d, body %q", r.Status, r.BodyText())
//		}
//		return nil
//	})
//
// The journal keeps the output as Chaos Toolkit writes it ({"status", "headers", "body"}).
type Result struct {
	// Status is the response's status code.
	Status int `json:"status"`
	// Headers maps each response header (as the server spelled it) to its value.
	Headers map[string]string `json:"headers"`
	// Body is the response body: a string, or the decoded JSON value (maps, slices, float64,
	// string, bool, nil) when the response's content type is JSON.
	Body any `json:"body"`
}

// BodyText returns the body as text: the string itself, or the JSON value re-encoded.
func (r Result) BodyText() string {
	if s, ok := r.Body.(string); ok {
		return s
	}
	if r.Body == nil {
		return ""
	}
	b, err := json.Marshal(r.Body)
	if err != nil {
		return ""
	}
	return string(b)
}
