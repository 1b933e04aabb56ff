module example.com/app

go 1.21

require (
	example.com/Upper/Case v1.0.0
	example.com/lib v1.1.0
)

require example.com/util v1.0.0 // indirect
