package shop_test

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/chaostest/chaostest/chaostest"
	"github.com/chaostest/chaostest/provider"
	chttp "github.com/chaostest/chaostest/providers/http"

	"example.com/shop"
)

// An experiment written in Go: the shop keeps answering while its cache is flushed.
func TestShopAnswersWhileItsCacheIsFlushed(t *testing.T) {
	s := &shop.Shop{}
	srv := httptest.NewServer(s)
	defer srv.Close()

	ct := chaostest.New(t, chaostest.Title("The shop answers while its cache is flushed"))
	ct.SteadyState("the shop answers",
		chttp.Get(srv.URL).Timeout(2*time.Second).Named("shop-answers").Want(200),
	)
	ct.Action("flush-cache", chaostest.Go("flush the shop's cache", func(context.Context, provider.Env) (any, error) {
		s.Flush()
		return "flushed", nil
	}))
	ct.Run()
}

// The same kind of experiment as a Chaos Toolkit file, its URL given as a --var would be.
func TestExperimentFile(t *testing.T) {
	srv := httptest.NewServer(&shop.Shop{})
	defer srv.Close()
	chaostest.RunFile(t, "testdata/experiment.json", chaostest.Var("shop_url", srv.URL))
}
