;; ReLU and its pullback, branch-free in SIMD; $reluElements and $reluBackwardElements take a thread's share of them.

  ;; ReLU with the lesson's mask (x <= 0): out[i] = x[i] <= 0 ? 0 : x[i] over n floats, four at a time, branch-free
  ;; (f32x4.le + v128.andnot: a NaN compares false, so it passes through with its bits; -0 becomes +0).
  ;; Random activations make a branch mispredict half the time, which is what this avoids.
  (func $relu (export "relu") (param $x i32) (param $n i32) (param $out i32)
    (local $end i32) (local $end4 i32) (local $v v128) (local $s f32)
    (local.set $end (i32.add (local.get $x) (i32.shl (local.get $n) (i32.const 2))))
    (local.set $end4 (i32.add (local.get $x) (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2))))
    (block $vdone
      (loop $vloop
        (br_if $vdone (i32.ge_u (local.get $x) (local.get $end4)))
        (local.set $v (v128.load (local.get $x)))
        (v128.store (local.get $out) (v128.andnot (local.get $v) (f32x4.le (local.get $v) (v128.const i32x4 0 0 0 0))))
        (local.set $x (i32.add (local.get $x) (i32.const 16)))
        (local.set $out (i32.add (local.get $out) (i32.const 16)))
        (br $vloop)))
    (block $sdone
      (loop $sloop
        (br_if $sdone (i32.ge_u (local.get $x) (local.get $end)))
        (local.set $s (f32.load (local.get $x)))
        (f32.store (local.get $out) (select (f32.const 0) (local.get $s) (f32.le (local.get $s) (f32.const 0))))
        (local.set $x (i32.add (local.get $x) (i32.const 4)))
        (local.set $out (i32.add (local.get $out) (i32.const 4)))
        (br $sloop))))

  ;; ReLU's pullback: out[i] = x[i] <= 0 ? 0 : dy[i] over n floats (x is the forward's input), branch-free as $relu.
  (func $reluBackward (export "reluBackward") (param $x i32) (param $dy i32) (param $n i32) (param $out i32)
    (local $end i32) (local $end4 i32) (local $s f32)
    (local.set $end (i32.add (local.get $x) (i32.shl (local.get $n) (i32.const 2))))
    (local.set $end4 (i32.add (local.get $x) (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2))))
    (block $vdone
      (loop $vloop
        (br_if $vdone (i32.ge_u (local.get $x) (local.get $end4)))
        (v128.store (local.get $out)
          (v128.andnot (v128.load (local.get $dy)) (f32x4.le (v128.load (local.get $x)) (v128.const i32x4 0 0 0 0))))
        (local.set $x (i32.add (local.get $x) (i32.const 16)))
        (local.set $dy (i32.add (local.get $dy) (i32.const 16)))
        (local.set $out (i32.add (local.get $out) (i32.const 16)))
        (br $vloop)))
    (block $sdone
      (loop $sloop
        (br_if $sdone (i32.ge_u (local.get $x) (local.get $end)))
        (local.set $s (f32.load (local.get $x)))
        (f32.store (local.get $out) (select (f32.const 0) (f32.load (local.get $dy)) (f32.le (local.get $s) (f32.const 0))))
        (local.set $x (i32.add (local.get $x) (i32.const 4)))
        (local.set $dy (i32.add (local.get $dy) (i32.const 4)))
        (local.set $out (i32.add (local.get $out) (i32.const 4)))
        (br $sloop))))

  ;; $relu over elements [i0, i1) of x and out: a thread's share (runChunks keeps shares whole multiples of 4, so the
  ;; vector loop covers the same elements as one call over all of them; each element's bits depend on it alone).
  (func $reluElements (export "reluElements") (param $i0 i32) (param $i1 i32) (param $x i32) (param $out i32)
    (call $relu (i32.add (local.get $x) (i32.shl (local.get $i0) (i32.const 2))) (i32.sub (local.get $i1) (local.get $i0))
      (i32.add (local.get $out) (i32.shl (local.get $i0) (i32.const 2)))))

  ;; $reluBackward over elements [i0, i1) of x, dy and out: a thread's share, as $reluElements.
  (func $reluBackwardElements (export "reluBackwardElements") (param $i0 i32) (param $i1 i32) (param $x i32) (param $dy i32) (param $out i32)
    (call $reluBackward (i32.add (local.get $x) (i32.shl (local.get $i0) (i32.const 2)))
      (i32.add (local.get $dy) (i32.shl (local.get $i0) (i32.const 2))) (i32.sub (local.get $i1) (local.get $i0))
      (i32.add (local.get $out) (i32.shl (local.get $i0) (i32.const 2)))))
