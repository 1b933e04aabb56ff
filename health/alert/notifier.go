package alert

// Notifier is told of alert transitions. The Engine gives it only firing
// and resolved ones. Notify is called during evaluation and must not
// block: a Notifier that does I/O queues the transition and does it
// elsewhere, as Webhook does.
type Notifier interface {
	Notify(Transition)
}
