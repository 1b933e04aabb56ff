module example.com/lib

go 1.21

require example.com/util v1.0.0
