package alert

import "time"

// Notifier is told of alert transitions. The Engine gives it only firing
// and resolved ones. Notify is called during evaluation and must not
// block: a Notifier that does I/O queues the transition and does it
// elsewhere, as Webhook does.
type Notifier interface {
	Notify(Transition)
}

// Refresher is a Notifier that is also shown, at the end of every
// evaluation, the alerts firing then, so that it can send them again:
// Alertmanager forgets an alert that is not re-sent. Refresh is called
// during evaluation and must not block, as Notify.
type Refresher interface {
	Notifier
	Refresh(now time.Time, firing []Alert)
}

// Notifiers is a Notifier that tells each of its Notifiers, in order, and
// shows the firing alerts to those that are Refreshers.
type Notifiers []Notifier

// Notify tells each Notifier of t.
func (ns Notifiers) Notify(t Transition) {
	for _, n := range ns {
		n.Notify(t)
	}
}

// Refresh shows firing to each Notifier that is a Refresher.
func (ns Notifiers) Refresh(now time.Time, firing []Alert) {
	for _, n := range ns {
		if r, ok := n.(Refresher); ok {
			r.Refresh(now, firing)
		}
	}
}
