package service_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/chaostest/chaostest/examples/greeter/service"
)

// The three services wired on loopback, webapp in resilient mode: it answers with the fallback
// greeting once greeter is gone.
func ExampleNewWebapp() {
	greeter := httptest.NewServer(service.NewGreeter(service.GreeterConfig{}))
	name := httptest.NewServer(service.NewName(service.NameConfig{}))
	defer name.Close()
	app, err := service.NewWebapp(service.WebappConfig{
		Mode:       service.Resilient,
		GreeterURL: greeter.URL,
		NameURL:    name.URL,
		Timeout:    2 * time.Second,
	})
	if err != nil {
		panic(err)
	}
	defer app.Close()
	webapp := httptest.NewServer(app)
	defer webapp.Close()

	show := func() {
		resp, err := http.Get(webapp.URL + "/?id=3")
		if err != nil {
			panic(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		fmt.Printf("%d %s %q\n", resp.StatusCode, resp.Header.Get(service.GreetingSourceHeader), body)
	}
	show()
	greeter.Close()
	show()
	// Output:
	// 200 greeter "Hello Penny\n"
	// 200 fallback "Hello Penny\n"
}

// A breaker opening after two failures and closing again after a successful trial call.
func ExampleBreaker() {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	b, err := service.NewBreaker(service.BreakerConfig{
		Failures:      2,
		Cooldown:      5 * time.Second,
		Now:           func() time.Time { return now },
		OnStateChange: func(from, to service.BreakerState) { fmt.Println(from, "->", to) },
	})
	if err != nil {
		panic(err)
	}
	for i := 0; i < 2; i++ {
		if c, ok := b.Allow(); ok {
			c.Failure()
		}
	}
	_, ok := b.Allow()
	fmt.Println("allowed while open:", ok)
	now = now.Add(5 * time.Second)
	if c, ok := b.Allow(); ok {
		c.Success()
	}
	// Output:
	// closed -> open
	// allowed while open: false
	// open -> half-open
	// half-open -> closed
}
