module example.com/Upper/Case

go 1.21
