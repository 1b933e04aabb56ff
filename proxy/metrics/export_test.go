package metrics

// BuildInfoLabels exposes buildInfoLabels to the tests.
var BuildInfoLabels = buildInfoLabels
