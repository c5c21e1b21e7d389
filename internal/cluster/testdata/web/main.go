// web: the tiny static HTTP server the cluster's own tests deploy. GET / answers
// "hello from <hostname>", /healthz answers "ok". Run as "web dial HOST:PORT" it dials once and
// prints the outcome and how long it took, so tests can probe the network from inside a pod
// (the image has no shell). "web echo ARGS..." prints its arguments (for exec tests).
package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"time"
)

func main() {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "echo":
			fmt.Println(strings.Join(os.Args[2:], " "))
			return
		case "dial":
			start := time.Now()
			conn, err := net.DialTimeout("tcp", os.Args[2], 10*time.Second)
			d := time.Since(start).Milliseconds()
			if err != nil {
				fmt.Printf("error after %dms: %v\n", d, err)
				return
			}
			conn.Close()
			fmt.Printf("connected after %dms\n", d)
			return
		}
	}
	host, _ := os.Hostname()
	http.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintf(w, "hello from %s\n", host) })
	fmt.Println("listening on :8080")
	if err := http.ListenAndServe(":8080", nil); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
