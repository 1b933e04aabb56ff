module example.com/pre

go 1.21
