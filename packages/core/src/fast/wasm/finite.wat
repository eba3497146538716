;; Whether floats are all finite: what conv.wat's $skipZero and pool-filter-grad.wat's path require of their inputs.

  ;; 1 when the n floats at $p are all finite, else 0: x*0 is ±0 for a finite x and NaN otherwise, and a NaN stays in
  ;; the running sum.
  (func $finiteF32 (export "finiteF32") (param $p i32) (param $n i32) (result i32)
    (local $end i32) (local $z v128) (local $t f32)
    (local.set $end (i32.add (local.get $p) (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2))))
    (block $vdone
      (loop $vloop
        (br_if $vdone (i32.ge_u (local.get $p) (local.get $end)))
        (local.set $z (f32x4.add (local.get $z) (f32x4.mul (v128.load (local.get $p)) (v128.const i32x4 0 0 0 0))))
        (local.set $p (i32.add (local.get $p) (i32.const 16)))
        (br $vloop)))
    (local.set $end (i32.add (local.get $end) (i32.shl (i32.and (local.get $n) (i32.const 3)) (i32.const 2))))
    (block $sdone
      (loop $sloop
        (br_if $sdone (i32.ge_u (local.get $p) (local.get $end)))
        (local.set $t (f32.add (local.get $t) (f32.mul (f32.load (local.get $p)) (f32.const 0))))
        (local.set $p (i32.add (local.get $p) (i32.const 4)))
        (br $sloop)))
    (i32.and (i32x4.all_true (f32x4.eq (local.get $z) (v128.const i32x4 0 0 0 0))) (f32.eq (local.get $t) (f32.const 0))))
