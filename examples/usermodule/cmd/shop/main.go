// Command shop serves the shop on :8080; chaos_test.go runs it in pods of the local cluster.
package main

import (
	"log"
	"net/http"
	"time"

	"example.com/shop"
)

func main() {
	srv := &http.Server{Addr: ":8080", Handler: &shop.Shop{}, ReadHeaderTimeout: 5 * time.Second}
	log.Fatal(srv.ListenAndServe())
}
