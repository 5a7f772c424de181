module corral/bindings/go

go 1.19
