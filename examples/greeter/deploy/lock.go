package deploy

import (
	"context"
	"fmt"
	"os"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
)

// LockName is the Lease that Lock holds in the Deployer's namespace.
const LockName = "greeter-example"

// lockDuration is how long a Lease counts as held without a renewal; Lock renews it every third
// of that, so only a holder that died leaves it to expire.
const lockDuration = 30 * time.Second

// Lock makes this process the only user of the example in the Deployer's namespace, because
// every user deploys, switches and kills the same objects there (the seed experiment names
// "default"): the chaos tests take it in TestMain, `make demo` before deploying. It creates the
// Lease LockName with holder (a description such as "go test examples/greeter"; the host name
// and process id are added), renews it while held, and waits, with a watch, for another holder
// to delete it or for its lease to expire (a holder that died), for at most within. Call the
// returned function to release it.
func (d *Deployer) Lock(ctx context.Context, holder string, within time.Duration) (release func(), err error) {
	host, _ := os.Hostname()
	id := fmt.Sprintf("%s (%s, pid %d)", holder, host, os.Getpid())
	leases := d.Client.CoordinationV1().Leases(d.ns())
	ctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	secs := int32(lockDuration / time.Second)
	for attempt := 0; attempt < 100; attempt++ {
		now := metav1.NowMicro()
		l, err := leases.Create(ctx, &coordinationv1.Lease{
			ObjectMeta: metav1.ObjectMeta{Name: LockName, Labels: map[string]string{"app.kubernetes.io/part-of": "greeter-example"}},
			Spec:       coordinationv1.LeaseSpec{HolderIdentity: &id, LeaseDurationSeconds: &secs, AcquireTime: &now, RenewTime: &now},
		}, metav1.CreateOptions{})
		if err == nil {
			d.logf("holding Lease %s/%s as %s", d.ns(), LockName, id)
			return d.renew(l), nil
		}
		if !apierrors.IsAlreadyExists(err) {
			return nil, fmt.Errorf("lock the greeter example: %w", err)
		}
		cur, err := leases.Get(ctx, LockName, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("lock the greeter example: %w", err)
		}
		expiry := leaseExpiry(cur)
		if !time.Now().Before(expiry) {
			// Its holder stopped renewing: take it over (the preconditions make sure nobody
			// renewed or replaced it meanwhile).
			uid, rv := cur.UID, cur.ResourceVersion
			err := leases.Delete(ctx, LockName, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid, ResourceVersion: &rv}})
			if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
				return nil, fmt.Errorf("lock the greeter example: remove the expired Lease of %s: %w", holderOf(cur), err)
			}
			d.logf("took over Lease %s/%s: %s stopped renewing it", d.ns(), LockName, holderOf(cur))
			continue
		}
		d.logf("waiting for %s to release Lease %s/%s (the greeter example is in use)", holderOf(cur), d.ns(), LockName)
		if err := waitLeaseChange(ctx, d, cur, expiry); err != nil {
			return nil, fmt.Errorf("lock the greeter example: still held by %s after %s: %w", holderOf(cur), within, err)
		}
	}
	return nil, fmt.Errorf("lock the greeter example: gave up after 100 attempts")
}

// waitLeaseChange returns when the Lease cur is deleted or changed, or when it expires.
func waitLeaseChange(ctx context.Context, d *Deployer, cur *coordinationv1.Lease, expiry time.Time) error {
	w, err := d.Client.CoordinationV1().Leases(d.ns()).Watch(ctx, metav1.ListOptions{
		FieldSelector: "metadata.name=" + LockName, ResourceVersion: cur.ResourceVersion,
	})
	if err != nil {
		return err
	}
	defer w.Stop()
	timer := time.NewTimer(time.Until(expiry) + 100*time.Millisecond)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-timer.C:
			return nil
		case ev, open := <-w.ResultChan():
			if !open || ev.Type == watch.Deleted || ev.Type == watch.Error {
				return nil
			}
			if l, ok := ev.Object.(*coordinationv1.Lease); ok && l.ResourceVersion != cur.ResourceVersion {
				return nil // renewed or replaced: look again
			}
		}
	}
}

// renew keeps l renewed until the returned release function deletes it.
func (d *Deployer) renew(l *coordinationv1.Lease) func() {
	leases := d.Client.CoordinationV1().Leases(d.ns())
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(lockDuration / 3)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				now := metav1.NowMicro()
				l.Spec.RenewTime = &now
				if nl, err := leases.Update(ctx, l, metav1.UpdateOptions{}); err == nil {
					l = nl
				} else {
					d.logf("renewing Lease %s/%s: %v", d.ns(), LockName, err)
				}
				cancel()
			}
		}
	}()
	return func() {
		close(stop)
		<-done
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		uid := l.UID
		if err := leases.Delete(ctx, LockName, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}}); err != nil && !apierrors.IsNotFound(err) {
			d.logf("releasing Lease %s/%s: %v", d.ns(), LockName, err)
			return
		}
		d.logf("released Lease %s/%s", d.ns(), LockName)
	}
}

func leaseExpiry(l *coordinationv1.Lease) time.Time {
	var t time.Time
	switch {
	case l.Spec.RenewTime != nil:
		t = l.Spec.RenewTime.Time
	case l.Spec.AcquireTime != nil:
		t = l.Spec.AcquireTime.Time
	default:
		t = l.CreationTimestamp.Time
	}
	d := lockDuration
	if l.Spec.LeaseDurationSeconds != nil {
		d = time.Duration(*l.Spec.LeaseDurationSeconds) * time.Second
	}
	return t.Add(d)
}

func holderOf(l *coordinationv1.Lease) string {
	if l.Spec.HolderIdentity != nil {
		return *l.Spec.HolderIdentity
	}
	return "an unknown holder"
}
