"""The duration / fps side files of the releases, each layout read by hand-checked values."""

from __future__ import annotations

import json

import pytest

from bsp_lightning.annotations.errors import AnnotationError
from bsp_lightning.features.importers.video_info import VideoInfo, read_video_info


def test_layouts(tmp_path):
    gtad_csv = tmp_path / "video_info_new.csv"
    gtad_csv.write_text("video,numFrame,seconds,fps,rfps,subset,featureFrame\nv_a,750,25.0,30.0,30.0,training,736\n")
    gtad_json = tmp_path / "anet_anno_action.json"
    gtad_json.write_text(json.dumps({"v_b": {"duration_second": 10.0, "duration_frame": 250, "feature_frame": 240,
                                             "annotations": []}}))
    anet = tmp_path / "activity_net.v1-3.min.json"
    anet.write_text(json.dumps({"version": "1.3", "database": {"c": {"duration": 7.5, "subset": "testing"},
                                                              "d": {"duration": 4.0, "frame": 100}}}))
    tacos = tmp_path / "test.json"
    tacos.write_text(json.dumps({"s13-d21.avi": {"num_frames": 3000, "fps": 29.4, "timestamps": [], "sentences": []}}))
    captions = tmp_path / "val_1.json"
    captions.write_text(json.dumps({"v_e": {"duration": 55.2, "timestamps": [[1, 2]], "sentences": ["x"]}}))
    charades = tmp_path / "Charades_v1_test.csv"
    charades.write_text('id,script,length\nAO8RW,"with, comma",33.67\n')
    table = read_video_info([gtad_csv, gtad_json, anet, tacos, captions, charades])
    assert table["v_a"] == VideoInfo(25.0, 30.0, pytest.approx(736 / 750 * 25.0))
    assert table["v_b"] == VideoInfo(10.0, 25.0, 240 / 250 * 10.0)
    assert table["c"] == VideoInfo(7.5) and table["d"] == VideoInfo(4.0, 25.0)
    assert table["s13-d21.avi"] == VideoInfo(pytest.approx(3000 / 29.4), 29.4)
    assert table["v_e"].span == 55.2 and table["AO8RW"].span == 33.67
    assert table.find("a") is table["v_a"] and table.find("v_c") is table["c"] and table.find("zz") is None


def test_later_files_complete_earlier_ones_and_errors_name_the_file(tmp_path):
    a = tmp_path / "a.json"
    a.write_text(json.dumps({"database": {"x": {"duration": 3.0}}}))
    b = tmp_path / "b.json"
    b.write_text(json.dumps({"database": {"x": {"duration": 9.0, "fps": 24}}}))
    assert read_video_info([a, b])["x"] == VideoInfo(3.0, 24.0)
    bad = tmp_path / "bad.csv"
    bad.write_text("video,numFrame,seconds,fps,rfps,subset,featureFrame\nv_a,750,-1,30,30,training,736\n")
    with pytest.raises(AnnotationError, match="bad.csv: seconds of video 'v_a' must be positive"):
        read_video_info([bad])
    with pytest.raises(AnnotationError, match="missing.csv: video info file not found"):
        read_video_info([tmp_path / "missing.csv"])
